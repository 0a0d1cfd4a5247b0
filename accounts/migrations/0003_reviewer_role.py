from django.db import migrations


def create_reviewer(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name="reviewer")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_audit_log")]
    operations = [migrations.RunPython(create_reviewer, migrations.RunPython.noop)]
