from django.core.management import call_command
from django_q.models import Schedule

from config.schedules import SCHEDULES


def test_setup_schedules_is_idempotent_and_removes_dropped_jobs(db):
    Schedule.objects.create(
        name="Old job", func="canvas.tasks.gone_task", schedule_type="I", minutes=5
    )
    call_command("setup_schedules")
    call_command("setup_schedules")
    assert sorted(Schedule.objects.values_list("name", "func")) == sorted(
        (s["name"], s["func"]) for s in SCHEDULES
    )
