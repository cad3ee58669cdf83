"""Every periodic job of the project, in one place; `manage.py setup_schedules` upserts them.

django-q2 checks schedules about every 30 seconds, so these are safety nets
and slow cadences; work that must start at once is queued directly (e.g. the
engine is woken when customers enter).
"""

SCHEDULES = [
    {
        "name": "Advance canvas enrollments",
        "func": "canvas.tasks.engine_advance_task",
        "schedule_type": "I",  # django_q.models.Schedule.MINUTES
        "minutes": 1,
    },
    {
        # Long tasks save their progress; one whose worker died is queued again.
        "name": "Resume interrupted entries and imports",
        "func": "canvas.tasks.work_resume_task",
        "schedule_type": "I",  # django_q.models.Schedule.MINUTES
        "minutes": 1,
    },
    {
        # The flusher loops and queues its own successor; this restarts a broken chain.
        "name": "Keep the Audience Sync flusher running",
        "func": "audiences.tasks.sync_flush_watchdog_task",
        "schedule_type": "I",  # django_q.models.Schedule.MINUTES
        "minutes": 1,
    },
    {
        # Pinterest's counters of each live audience, beside ours on the Audiences page;
        # a bounded number of reads per run (audiences/counters.py).
        "name": "Read Pinterest's audience counters",
        "func": "audiences.counters.audience_counters_refresh_task",
        "schedule_type": "I",  # django_q.models.Schedule.MINUTES
        "minutes": 5,
    },
    {
        # Access tokens live 30 days; each connection is refreshed a week before expiry.
        "name": "Refresh Pinterest tokens",
        "func": "partners.tasks.pinterest_tokens_refresh_task",
        "schedule_type": "H",  # django_q.models.Schedule.HOURLY
    },
]
