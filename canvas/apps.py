from django.apps import AppConfig


class CanvasConfig(AppConfig):
    """Workspaces, marketers, customers, canvases and the engine that moves them."""

    name = "canvas"
    verbose_name = "Workspaces and canvases"

    def ready(self) -> None:
        # The step kinds this app ships register themselves on import.
        from canvas.steps import delay  # noqa: F401
