from django.db import migrations


def erasure_notices_dismissable(apps, schema_editor):
    # Raised before notifications could be dismissed: nothing else will ever close them.
    Notification = apps.get_model("canvas", "Notification")
    Notification.objects.filter(key__startswith="erasure-unconfirmed:").update(dismissable=True)


class Migration(migrations.Migration):
    dependencies = [
        ("audiences", "0008_sync_item_deadline_index_no_batch_index"),
        ("canvas", "0012_notification_dismissable"),
    ]

    operations = [
        migrations.RunPython(erasure_notices_dismissable, migrations.RunPython.noop),
    ]
