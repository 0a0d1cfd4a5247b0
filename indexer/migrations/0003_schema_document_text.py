import json

from django.db import migrations, models


def copy_documents(apps, schema_editor):
    LabelSchema = apps.get_model("indexer", "LabelSchema")
    for schema in LabelSchema.objects.all():
        schema.document_json = json.dumps(schema.document)
        schema.save(update_fields=["document_json"])


class Migration(migrations.Migration):
    """Keep schema documents as JSON text so PostgreSQL (jsonb) cannot reorder their keys."""

    dependencies = [("indexer", "0002_video_media")]

    operations = [
        migrations.AddField(model_name="labelschema", name="document_json", field=models.TextField(default="{}"),
                            preserve_default=False),
        migrations.RunPython(copy_documents, migrations.RunPython.noop),
        migrations.RemoveField(model_name="labelschema", name="document"),
    ]
