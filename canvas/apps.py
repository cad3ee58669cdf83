from django.apps import AppConfig


class CanvasConfig(AppConfig):
    """Workspaces, marketers, customers, canvases and the engine that moves them."""

    name = "canvas"
    verbose_name = "Workspaces and canvases"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        from canvas import id_lists  # noqa: F401 - registers the __any_of lookup
        from canvas.shutdown import stop_on_interrupt
        from canvas.steps import delay  # noqa: F401 - the step kinds shipped here register on import

        # Each worker process of a cluster records a Ctrl-C for its long tasks to see.
        post_spawn.connect(stop_on_interrupt, dispatch_uid="pinsync-stop-on-interrupt")
