# "Selected" is now derived: an ad account is synced into while disconnected_at is empty.

from django.db import migrations
from django.db.models import F
from django.db.models.functions import Coalesce, Now


def mark_unselected_as_disconnected(apps, schema_editor):
    # Rows that were deselected but never got a disconnection time keep their meaning.
    PinterestAdAccount = apps.get_model("partners", "PinterestAdAccount")
    PinterestAdAccount.objects.filter(selected=False, disconnected_at__isnull=True).update(
        disconnected_at=Coalesce(F("connected_at"), Now())
    )


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(mark_unselected_as_disconnected, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="pinterestadaccount",
            name="selected",
        ),
    ]
