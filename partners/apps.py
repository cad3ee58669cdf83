from django.apps import AppConfig


class PartnersConfig(AppConfig):
    """Technology partners: Pinterest connections, its API client and local sandbox."""

    name = "partners"
    verbose_name = "Partner integrations"
