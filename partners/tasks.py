"""Background tasks of the partners app: thin, ids only, each calls a service."""

from django_q.tasks import async_task

from partners.models import PinterestConnection
from partners.selectors import connections_due_for_refresh
from partners.services import connection_refresh_if_due


def pinterest_tokens_refresh_task() -> int:
    """Queue a refresh of every connection whose token expires within a week (hourly)."""
    connection_ids = connections_due_for_refresh()
    for connection_id in connection_ids:
        async_task(
            "partners.tasks.connection_refresh_task",
            connection_id,
            task_name=f"pinterest_refresh_{connection_id}",
        )
    return len(connection_ids)


def connection_refresh_task(connection_id: int) -> bool:
    """Refresh one connection's tokens if they are still due (another run may have won)."""
    connection = PinterestConnection.objects.get(pk=connection_id)
    return connection_refresh_if_due(connection=connection)
