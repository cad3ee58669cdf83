from django.apps import AppConfig


class AudiencesConfig(AppConfig):
    """The Audience Sync step: hashing, batching, rate limiting, the ledger, analytics."""

    name = "audiences"
    verbose_name = "Audience Sync"
