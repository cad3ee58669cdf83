from django.apps import AppConfig


class AudiencesConfig(AppConfig):
    """The Audience Sync step: hashing, batching, rate limiting, the ledger, analytics."""

    name = "audiences"
    verbose_name = "Audience Sync"

    def ready(self) -> None:
        # The canvas app knows no step kind but its own: this one joins through the registries.
        from django_q.signals import post_spawn

        from audiences.erasure import sync_items_on_erasure
        from audiences.step import AudienceSyncKind
        from audiences.tasks import sync_flush_on_worker_start
        from canvas.erasure import register_erasure_hook
        from canvas.steps.registry import register

        register(AudienceSyncKind())
        register_erasure_hook(sync_items_on_erasure)
        post_spawn.connect(sync_flush_on_worker_start, dispatch_uid="pinsync-flusher-on-start")
