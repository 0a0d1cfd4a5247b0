"""Settings for the test suite: embedded settings in a throw-away data dir.

SCOOP_TEST_DATABASE_URL switches the database to a real server (the
PostgreSQL run of ``make test``). Tasks run eagerly unless a test starts a
real worker."""

import os
import tempfile

os.environ.setdefault("SCOOP_DATA_DIR", tempfile.mkdtemp(prefix="scoop-test-"))

from scoop.settings.embedded import *  # noqa: E402, F403
from scoop.settings.embedded import DATABASES, REST_FRAMEWORK, SCOOP_DATA_DIR, STORAGES, env  # noqa: E402

if env.str("SCOOP_TEST_DATABASE_URL", default=""):
    DATABASES = {"default": env.db("SCOOP_TEST_DATABASE_URL")}
else:
    # A file, not :memory:, so that a real worker process can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(SCOOP_DATA_DIR / "test.sqlite3")}

DEBUG = False
# No test runs collectstatic first (the server tests do): templates name static files as they are,
# and whitenoise finds them where they are, at each request.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
# Eager tasks ignore countdowns: every write evaluates the watches at once.
SCOOP_WATCH_BATCH_S = env.float("SCOOP_WATCH_BATCH_S", default=0.0)
# Tests that start a real worker name its broker (Redis) in CELERY_BROKER_URL or set the app's
# broker_url at run time: no transport of the embedded settings may stand in for it.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://")
CELERY_BROKER_TRANSPORT = None
CELERY_TASK_EAGER_PROPAGATES = False
# Many tests make many token calls: rates no test reaches. tests/scoop/test_security.py
# sets real low rates to see the 429.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": dict.fromkeys(
    REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "100000/minute")}
# Tests log in (and fail to) from one address all run long: failure limits no test reaches.
# tests/scoop/test_login_lockout.py sets the real ones.
SCOOP_LOGIN_FAILURES_PER_USER = SCOOP_LOGIN_FAILURES_PER_IP = 100000
# Tests keep the map's tiles off: no page fetches anything from another host (a test that
# wants tiles names a URL of the live server and answers it from the browser's router).
SCOOP_MAP_TILES = SCOOP_MAP_ATTRIBUTION = ""
