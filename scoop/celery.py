"""The Celery app. Embedded settings use an in-memory broker served by a worker
thread inside the web process (``manage.py serve``); production settings use
Redis and separate ``celery -A scoop worker`` processes."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scoop.settings.embedded")

app = Celery("scoop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
