"""Data migrations: what they change in rows that exist when they run."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [
    ("audiences", "0008_sync_item_deadline_index_no_batch_index"),
    ("canvas", "0012_notification_dismissable"),
]
AFTER = [("audiences", "0009_erasure_notices_dismissable")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_erasure_notices_raised_before_dismissing_existed_become_dismissable(transactional_db):
    old = migrate(BEFORE)
    workspace = old.get_model("canvas", "Workspace").objects.create(name="W", slug="w")
    notification = old.get_model("canvas", "Notification")
    for key in ("erasure-unconfirmed:4", "pinterest-connection:4"):
        notification.objects.create(
            workspace=workspace, key=key, title=key, raised_at=timezone.now()
        )

    new = migrate(AFTER)

    rows = new.get_model("canvas", "Notification").objects.order_by("key")
    assert list(rows.values_list("key", "dismissable")) == [
        ("erasure-unconfirmed:4", True),
        ("pinterest-connection:4", False),
    ]
