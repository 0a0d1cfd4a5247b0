"""Embedded default: one machine, nothing to install. SQLite for records,
DuckDB for the index, and ``manage.py serve`` (scoop/server.py): gunicorn's web
processes, and one Celery worker process that they hand tasks to through files in
the data dir (scoop/task_files.py)."""

import secrets

from scoop.settings.base import *  # noqa: F403
from scoop.settings.base import SCOOP_DATA_DIR, env

SCOOP_DATA_DIR.mkdir(parents=True, exist_ok=True)


def _local_secret_key() -> str:
    """A per-installation key kept in the data dir, so sessions survive restarts
    without a secret ever being committed."""
    key_file = SCOOP_DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="") or _local_secret_key()
# Django's debug pages show settings and code to whoever meets an error: only when asked for.
DEBUG = env.bool("SCOOP_DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": SCOOP_DATA_DIR / "scoop.sqlite3",
        # The web threads and the worker thread write concurrently: wait for the lock.
        "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
    }
}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
if not CELERY_BROKER_URL:
    # Messages as files in SCOOP_DATA_DIR/tasks, which every process on this machine shares:
    # the web processes queue tasks there and serve's worker process takes them.
    CELERY_BROKER_URL = "filesystem://localhost"
    CELERY_BROKER_TRANSPORT = "scoop.task_files:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {"folder": str(SCOOP_DATA_DIR / "tasks"), "polling_interval": 0.2}
    # Nobody sends the worker remote-control commands; without them it keeps no broadcast queue.
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
