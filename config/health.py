"""GET /healthz: can this instance do its work? For load balancers and monitors.

200 when every check passes, 503 when one of ours fails, with each check's verdict as
JSON. Pinterest is outside the deployment: when it cannot be reached the status is
"degraded" but the answer stays 200. Taking every instance out of the load balancer
would refuse the API calls and imports that bring customers in, while the sync already
waits and retries for 13 hours: nothing an operator reroutes or restarts fixes it. Cheap
enough to be probed every few seconds: one query for the database, a PING of the
broker, one query for the cluster's heartbeat, and Pinterest asked at most every 30 s
(partners/health.py). Unauthenticated, so it names no host, URL or credential, and an
exception is logged for the operator, not shown.

It lives in config, which may import every app: canvas knows nothing of Pinterest, and
the heartbeat is django-q2's, not one app's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_q.brokers import Broker, get_broker
from django_q.models import Schedule

from partners.health import pinterest_reachability

logger = logging.getLogger(__name__)

HEALTHZ_PATH = "/healthz"
# Every running cluster runs due schedules about every 30 s and moves them on; one due
# for longer than this means no cluster is running (the shortest schedule is a minute).
HEARTBEAT_GRACE = timedelta(minutes=2)

Verdict = tuple[bool, str]

_broker: Broker | None = None


def database_check() -> Verdict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return True, f"The database ({connection.vendor}) answers."


def broker_check() -> Verdict:
    global _broker
    if _broker is None:  # one connection pool per process, not one per probe
        _broker = get_broker()
    kind = "Redis" if type(_broker).__name__ == "Redis" else "The ORM broker (the database)"
    if not _broker.ping():
        return False, f"{kind} did not answer."
    return True, f"{kind} answers."


def cluster_check() -> Verdict:
    """The heartbeat of the worker clusters: django-q2's schedules are run on time."""
    schedules = Schedule.objects.exclude(repeats=0).aggregate(
        count=Count("id"), due=Min("next_run")
    )
    if not schedules["count"]:
        return False, "No periodic job is scheduled: run `manage.py setup_schedules`."
    late = timezone.now() - schedules["due"]
    if late > HEARTBEAT_GRACE:
        return False, (
            f"No worker cluster has run the periodic jobs for {late.total_seconds():.0f} s: "
            "start `manage.py worker`."
        )
    return True, "A worker cluster runs the periodic jobs on time."


def pinterest_check() -> Verdict:
    return pinterest_reachability()


CHECKS: dict[str, Callable[[], Verdict]] = {
    "database": database_check,
    "broker": broker_check,
    "cluster": cluster_check,
    "pinterest": pinterest_check,
}
# Services outside the deployment: failing, they make the status "degraded", not a 503.
OUTSIDE = frozenset({"pinterest"})


def _run(name: str, check: Callable[[], Verdict]) -> dict[str, object]:
    try:
        ok, detail = check()
    except Exception:
        # The message may name hosts and users: the log is for the operator, not the probe.
        logger.exception("Health check %s failed", name)
        return {"ok": False, "detail": "The check failed with an error (see the logs)."}
    return {"ok": ok, "detail": detail}


@login_not_required
@require_safe
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Each check's verdict; 503 when one of ours fails, so the load balancer stops
    sending traffic; "degraded" (200) when only Pinterest does."""
    checks = {name: _run(name, check) for name, check in CHECKS.items()}
    failing = {name: check["detail"] for name, check in checks.items() if not check["ok"]}
    ours = failing.keys() - OUTSIDE
    status = "failing" if ours else "degraded" if failing else "ok"
    response = JsonResponse({"status": status, "checks": checks}, status=503 if ours else 200)
    if failing:
        logger.warning("Health check %s: %s", status, failing)
        # Logged just above, in words: Django would add a "Service Unavailable" error per
        # probe, and mail it to ADMINS every few seconds.
        response._has_been_logged = True
    return response


class HealthzMiddleware:
    """Answer /healthz before the host check and the HTTPS redirect.

    Load balancers probe each instance at its own address, which ALLOWED_HOSTS does not
    list, and over plain HTTP: through the usual stack they would get 400 or a redirect.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == HEALTHZ_PATH:
            return healthz(request)
        return self.get_response(request)
