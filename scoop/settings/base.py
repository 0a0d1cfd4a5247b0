"""Settings shared by every deployment. Read from the environment only."""

import os
from pathlib import Path
from zoneinfo import available_timezones

import environ
from django.core.exceptions import ImproperlyConfigured

from indexer.search import engine_settings

BASE_DIR = Path(__file__).resolve().parents[2]

env = environ.Env()

SCOOP_DATA_DIR = Path(env.str("SCOOP_DATA_DIR", default=str(BASE_DIR / "data"))).resolve()

DEBUG = False
ALLOWED_HOSTS: list[str] = []

INSTALLED_APPS = [
    "accounts.apps.AdminConfig",  # django.contrib.admin, with the login lockout
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "indexer",
    "analytics",
    "analytics.review",
    "scoop",  # the project's own commands: serve, load_demo
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Django's, without the slash redirect that loses an API POST's body (scoop/api_middleware.py).
    "scoop.api_middleware.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "scoop.security.SecurityHeadersMiddleware",
    # Static files (STATIC_ROOT). Below the security headers, not right after SecurityMiddleware
    # as whitenoise suggests, so that a static file gets the pages' CSP and X-Frame-Options
    # too (an HTML file among them, such as Swagger UI's oauth2-redirect.html, must not run
    # script the pages may not); the middlewares above do nothing to an answer that reads no session.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Innermost, to see every error page Django makes: under /api/ and /media/, JSON instead.
    "scoop.api_middleware.JsonErrorsMiddleware",
]

ROOT_URLCONF = "scoop.urls"
WSGI_APPLICATION = "scoop.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# The time zone of hour and weekday query filters and of clock date-times without an offset (issue 21);
# a request may give its own (tz). An IANA name.
SCOOP_TIME_ZONE = env.str("SCOOP_TIME_ZONE", default="UTC")
if SCOOP_TIME_ZONE not in available_timezones():
    raise ImproperlyConfigured(f"SCOOP_TIME_ZONE must be an IANA time zone such as Europe/Berlin: {SCOOP_TIME_ZONE!r}")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# `collectstatic` copies every static file here (`manage.py serve` runs it at start), under a name
# that holds a hash of its content, with a gzip copy beside it; whitenoise serves them from the web
# processes, cached by browsers for good (a changed file gets a new name).
STATIC_ROOT = SCOOP_DATA_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "scoop.staticfiles.StaticFilesStorage"},
}
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # vendor/plotly.min.js straight from the installed plotly package (never committed).
    "scoop.staticfiles.PlotlyFinder",
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Browser sign-in (/login/, /admin/login/, accounts/lockout.py): failed attempts allowed
# per username and per client address within SCOOP_LOGIN_LOCKOUT_S seconds; beyond them,
# attempts are refused (429) until that window ends. Counted in the default cache.
SCOOP_LOGIN_FAILURES_PER_USER = env.int("SCOOP_LOGIN_FAILURES_PER_USER", default=5)
SCOOP_LOGIN_FAILURES_PER_IP = env.int("SCOOP_LOGIN_FAILURES_PER_IP", default=20)
SCOOP_LOGIN_LOCKOUT_S = env.int("SCOOP_LOGIN_LOCKOUT_S", default=15 * 60)

# Browser sessions and cookies (the security headers and the CSP are in scoop/security.py).
# A session lasts one working day from login (12 h, SESSION_COOKIE_AGE in seconds), not
# Django's two weeks: a forgotten browser on a shared machine stops exposing the corpus.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# The pages' scripts read the CSRF token from the page (<meta name="csrf-token">), never
# from the cookie, so scripts get no access to it.
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Nothing in Scoop is meant to be framed (no page embeds another).
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # "Authorization: Token <token>" or "Bearer <token>".
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # drf-spectacular's, documenting every operation's error answers too.
    "DEFAULT_SCHEMA_CLASS": "scoop.api_schema.AutoSchema",
    "EXCEPTION_HANDLER": "scoop.api.exception_handler",
    # DRF's three, with a JSON parser that refuses absurdly deep JSON with a 400.
    "DEFAULT_PARSER_CLASSES": [
        "indexer.request_parsing.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # Token clients: per-user rates per scope (scoop/throttles.py), "N/second|minute|hour|day".
    "DEFAULT_THROTTLE_CLASSES": ["scoop.throttles.TokenUserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "search": env.str("SCOOP_THROTTLE_SEARCH", default="600/minute"),
        "ingest": env.str("SCOOP_THROTTLE_INGEST", default="120/minute"),
        "media": env.str("SCOOP_THROTTLE_MEDIA", default="1200/minute"),
        # Resumable uploads' chunks: 8 MB chunks at 200 MB/s are 25 a second.
        "upload": env.str("SCOOP_THROTTLE_UPLOAD", default="3000/minute"),
        "api": env.str("SCOOP_THROTTLE_API", default="600/minute"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Scoop API",
    "DESCRIPTION": "Faceted search and insights over video analytics.",
    "VERSION": "1.0.0",
    # Only logged-in users see the API docs (anonymous browsers are sent to the login
    # page, scoop/api_docs.py); Swagger UI is served from the sidecar package, never a CDN.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    # Requests and answers get components of their own (XRequest, X): what a client sends
    # and what it reads differ (read-only fields, uploads).
    "COMPONENT_SPLIT_REQUEST": True,
    # The JSON components (query trees, filters, GeoJSON, figures), JSON-text parameters
    # and the limits, after drf-spectacular's own enum naming.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "scoop.api_schema.postprocess_schema"],
    # Names of the choice sets that several fields share.
    "ENUM_NAME_OVERRIDES": {
        "GeoJsonFeatureEnum": ["Feature"],
        "GeoJsonCollectionEnum": ["FeatureCollection"],
        "StatUnitEnum": "scoop.api_schema.STAT_UNITS",
        "FramesOrObjectsEnum": "scoop.api_schema.FRAMES_OR_OBJECTS",
        "GeoFormatEnum": "scoop.api_schema.GEO_FORMATS",
        "IngestFormatEnum": "scoop.api_schema.INGEST_FORMATS",
        "StreamFormatEnum": "scoop.api_schema.STREAM_FORMATS",
        # Ingest jobs, analyses and task runs share their statuses (the jobs board lists them together).
        "JobStatusEnum": "indexer.models.IngestJob.STATUSES",
        "ExportScopeEnum": ["all", "page", "clips"],
        "ScopeEnum": "indexer.search.contract.SCOPES",
    },
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Ingest: payloads above this size are refused with 413 before they are stored.
SCOOP_INGEST_MAX_BYTES = env.int("SCOOP_INGEST_MAX_BYTES", default=2 * 1024**3)
# JSON request bodies (not multipart uploads) are read into memory: keep them small.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("SCOOP_JSON_BODY_MAX_BYTES", default=64 * 1024**2)
FILE_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024**2
FILE_UPLOAD_TEMP_DIR = None

# Media: uploaded video files above this size are refused with 413.
SCOOP_MEDIA_MAX_BYTES = env.int("SCOOP_MEDIA_MAX_BYTES", default=8 * 1024**3)
# Resumable uploads (tus, indexer.uploads): files larger than this are refused with 413 when the
# upload is made, before any byte is sent.
SCOOP_UPLOAD_MAX_BYTES = env.int("SCOOP_UPLOAD_MAX_BYTES", default=SCOOP_MEDIA_MAX_BYTES)
# An upload that received no byte for this many days is abandoned: the periodic jobs' expiry fails
# it and deletes what it had received (docs/api/uploads.md).
SCOOP_UPLOAD_ABANDON_DAYS = env.int("SCOOP_UPLOAD_ABANDON_DAYS", default=7)
# Batch imports (indexer.imports): the server folders an admin may import videos from through the
# API (POST /api/v1/imports/); their files are used where they are. `manage.py import_videos` reads
# any folder.
SCOOP_IMPORT_ROOTS = env.list("SCOOP_IMPORT_ROOTS", default=[])
# Label exports (docs/api/exports.md): a download streams at most this many detections; more is a job.
SCOOP_EXPORT_STREAM_MAX = env.int("SCOOP_EXPORT_STREAM_MAX", default=200_000)
# An export job and its file are deleted this many days after it ended (a periodic task).
SCOOP_EXPORT_KEEP_DAYS = env.int("SCOOP_EXPORT_KEEP_DAYS", default=7)
# How many versions of its analytics (payload and media) each video keeps; a replaced
# payload or media file is deleted once no kept version refers to it (indexer.versions).
SCOOP_KEEP_VERSIONS = env.int("SCOOP_KEEP_VERSIONS", default=5)
# A failed ingest job keeps its payload (to be retried from the jobs board) this many days, then
# the job and its payload are deleted, unless an admin sets another expiry date (docs/api/jobs.md).
SCOOP_FAILED_JOB_KEEP_DAYS = env.int("SCOOP_FAILED_JOB_KEEP_DAYS", default=7)
# How often the periodic task deletes the jobs whose outputs expired (seconds): Celery beat runs it
# (`celery -A scoop beat`, one of `manage.py serve`'s processes).
SCOOP_JOBS_EXPIRE_EVERY_S = env.int("SCOOP_JOBS_EXPIRE_EVERY_S", default=3600)
if SCOOP_KEEP_VERSIONS < 1:
    raise ImproperlyConfigured(f"SCOOP_KEEP_VERSIONS must be at least 1 (the current version): {SCOOP_KEEP_VERSIONS}")
# Folders whose files may be registered as a video's media by server-side path. Uploads
# live in SCOOP_DATA_DIR/media, which is always allowed; this list adds to it.
SCOOP_MEDIA_ROOTS = env.list("SCOOP_MEDIA_ROOTS", default=[])
# Production: the internal nginx location that serves media files (e.g. "/_media"). When
# set, the stream view checks access and answers with X-Accel-Redirect; nginx sends the bytes.
SCOOP_MEDIA_ACCEL_REDIRECT = env.str("SCOOP_MEDIA_ACCEL_REDIRECT", default="")

# Human review (analytics.review, docs/api/review.md): how long a batch is leased, how many gold
# items each batch mixes in, the gold accuracy that keeps a reviewer in good standing, and after
# how many votes a majority decides (else the item is disputed until an admin decides).
SCOOP_REVIEW_LEASE_S = env.int("SCOOP_REVIEW_LEASE_S", default=600)
SCOOP_REVIEW_GOLD_PER_BATCH = env.int("SCOOP_REVIEW_GOLD_PER_BATCH", default=1)
SCOOP_REVIEW_MIN_GOLD_ACCURACY = env.float("SCOOP_REVIEW_MIN_GOLD_ACCURACY", default=0.8)
SCOOP_REVIEW_MAX_VOTES = env.int("SCOOP_REVIEW_MAX_VOTES", default=5)

# The dashboard map's base layer: OpenStreetMap's raster tiles by default (loaded by the
# browser, with OSM's attribution); a deployment's own tile URL template such as
# "https://tiles.example.org/{z}/{x}/{y}.png"; or "off" (no tile is fetched from any host).
# Under the tiles, or instead of them, Scoop draws its own Natural Earth land and borders
# (static/vendor/world-atlas) and a graticule, so the map is never blank.
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'


def map_tiles(value: str) -> str:
    """SCOOP_MAP_TILES as the dashboard uses it: a tile URL template, or "" for no tiles."""
    value = value.strip()
    if value.lower() in ("", "off", "none"):
        return ""
    if value.lower() == "osm":
        return OSM_TILES
    if not value.startswith(("http://", "https://")) or not all(part in value for part in ("{z}", "{x}", "{y}")):
        raise ImproperlyConfigured(
            f"SCOOP_MAP_TILES={value!r}: expected 'osm', 'off' or an http(s) tile URL template "
            "with {z}, {x} and {y}, e.g. https://tiles.example.org/{z}/{x}/{y}.png")
    return value


SCOOP_MAP_TILES = map_tiles(env.str("SCOOP_MAP_TILES", default="osm"))
SCOOP_MAP_ATTRIBUTION = env.str("SCOOP_MAP_ATTRIBUTION",
                                default=OSM_ATTRIBUTION if SCOOP_MAP_TILES == OSM_TILES else "")

# The search engine: duckdb (embedded, the default), elasticsearch, reference (in memory, one
# process only) or the dotted path of an engine package. Each engine declares its options and the
# environment variables that set them (OPTIONS in its package, e.g. indexer/search/duckdb/__init__.py);
# only the chosen engine's are read.
SCOOP_SEARCH_ENGINE = env.str("SCOOP_SEARCH_ENGINE", default="duckdb")
SCOOP_SEARCH_BACKEND = engine_settings(SCOOP_SEARCH_ENGINE, env=env, values={"SCOOP_DATA_DIR": str(SCOOP_DATA_DIR)})

CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# Separate queues so that a long media probe or an index rebuild never delays ingest:
# run `celery -A scoop worker -Q ingest` and `-Q media,index` workers (or one with all three).
CELERY_TASK_DEFAULT_QUEUE = "ingest"
CELERY_TASK_ROUTES = {
    "indexer.tasks.ingest_run_task": {"queue": "ingest"},
    "indexer.tasks.video_probe_task": {"queue": "media"},
    "indexer.tasks.index_rebuild_task": {"queue": "index"},
    "indexer.tasks.index_merge_task": {"queue": "index"},
    "indexer.tasks.video_reindex_task": {"queue": "index"},
    # Video analysis needs torch and wants a GPU: `celery -A scoop worker -Q gpu` on that machine.
    "indexer.tasks.video_analyse_task": {"queue": "gpu"},
    "indexer.tasks.analysis_run_task": {"queue": "gpu"},
    "indexer.tasks.jobs_expire_task": {"queue": "index"},
    # Watches run on what each write added; alerts go out by webhook and email (analytics.tasks).
    "analytics.tasks.watches_evaluate_task": {"queue": "alerts"},
    "analytics.tasks.alert_deliver_task": {"queue": "deliveries"},
    # Large label exports (docs/api/exports.md) read every matching video: off the ingest queue.
    "analytics.tasks.export_run_task": {"queue": "exports"},
    "analytics.tasks.exports_expire_task": {"queue": "exports"},
}
# `manage.py serve` runs every queue, gpu included: on one machine analyses run there, on the CPU
# when torch sees no GPU.
SCOOP_TASK_QUEUES = ("ingest", "media", "index", "alerts", "deliveries", "gpu", "exports")
CELERY_BEAT_SCHEDULE = {
    "jobs-expire": {"task": "indexer.tasks.jobs_expire_task", "schedule": SCOOP_JOBS_EXPIRE_EVERY_S},
    "exports-expire": {"task": "analytics.tasks.exports_expire_task", "schedule": SCOOP_JOBS_EXPIRE_EVERY_S},
}
# Where beat keeps when each periodic task last ran.
CELERY_BEAT_SCHEDULE_FILENAME = str(Path(SCOOP_DATA_DIR) / "celerybeat-schedule")
# `manage.py serve` (scoop/server.py): gunicorn's web processes and the threads of each, and its
# task worker: how many tasks it runs at once (ingest jobs in parallel, as a Celery worker with one
# process per core) and at what niceness, so that searches get the CPU first.
SCOOP_WEB_PROCESSES = env.int("SCOOP_WEB_PROCESSES", default=min(max(os.cpu_count() or 1, 2), 8))
SCOOP_WEB_THREADS = env.int("SCOOP_WEB_THREADS", default=4)
SCOOP_WORKER_CONCURRENCY = env.int("SCOOP_WORKER_CONCURRENCY", default=os.cpu_count() or 1)
SCOOP_WORKER_NICE = env.int("SCOOP_WORKER_NICE", default=10)
# serve's second worker takes the alerts queue alone (the watches' evaluations, short and due within
# seconds): at this niceness, the web processes' by default, so that a busy server still alerts.
SCOOP_ALERT_WORKER_NICE = env.int("SCOOP_ALERT_WORKER_NICE", default=0)
# A message whose worker died unacknowledged is delivered again after this many seconds
# (Redis); it must exceed the longest task.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=4 * 3600),
    # How often a worker looks for such messages: every interval x throttle seconds.
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
}

# Watches (analytics.watches): writes gather this many seconds before one evaluation runs every
# watch over all of them (an alert then comes within about this long plus the evaluation).
SCOOP_WATCH_BATCH_S = env.float("SCOOP_WATCH_BATCH_S", default=0.5)
# Alerts (analytics.alert_delivery): webhooks only over https (production sets it), and the hosts on
# private networks that may receive them all the same (none by default: no webhook reaches inside).
SCOOP_WEBHOOK_HTTPS_ONLY = env.bool("SCOOP_WEBHOOK_HTTPS_ONLY", default=False)
SCOOP_WEBHOOK_PRIVATE_HOSTS = env.list("SCOOP_WEBHOOK_PRIVATE_HOSTS", default=[])
# Alert emails: SCOOP_EMAIL_URL as django-environ reads it (smtp+tls://user:password@host:587);
# by default they are written to the server's console.
vars().update(env.email_url("SCOOP_EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("SCOOP_EMAIL_FROM", default="scoop@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
