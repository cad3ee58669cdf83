from django.apps import AppConfig


class CanvasConfig(AppConfig):
    """Workspaces, marketers, customers, canvases and the engine that moves them."""

    name = "canvas"
    verbose_name = "Workspaces and canvases"
