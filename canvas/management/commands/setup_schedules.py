from django.core.management.base import BaseCommand
from django_q.models import Schedule

from config.schedules import SCHEDULES

# The project's own modules (tasks.py, and audiences/counters.py): schedules pointing
# into them are managed here.
OURS = r"^(canvas|partners|audiences)\."


class Command(BaseCommand):
    help = "Create or update the periodic jobs declared in config/schedules.py (idempotent)."

    def handle(self, *args, **options):
        names = []
        for spec in SCHEDULES:
            fields = {k: v for k, v in spec.items() if k != "name"}
            Schedule.objects.update_or_create(name=spec["name"], defaults=fields)
            names.append(spec["name"])
        # A job removed from config/schedules.py stops running.
        Schedule.objects.filter(func__regex=OURS).exclude(name__in=names).delete()
        if options["verbosity"] > 1:
            self.stdout.write(f"{len(names)} schedules in place.")
