from django.conf import settings


def sandbox(request):
    """Whether Pinterest calls go to the local sandbox (the app shell shows a badge)."""
    return {"pinterest_sandbox": settings.PINTEREST_SANDBOX}
