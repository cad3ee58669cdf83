from django.apps import AppConfig


class PartnersConfig(AppConfig):
    """Technology partners: Pinterest connections, its API client and local sandbox."""

    name = "partners"
    verbose_name = "Partner integrations"

    def ready(self) -> None:
        # The workspace home's first step; the canvas app cannot name Pinterest itself.
        from canvas.onboarding import register
        from partners.onboarding import CONNECT_PINTEREST

        register(CONNECT_PINTEREST)
