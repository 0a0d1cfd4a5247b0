"""Production: PostgreSQL (psycopg2), Celery workers on Redis, and the index
engine named by SCOOP_SEARCH_ENGINE. Secrets are required: a missing one stops
the process at start-up with ImproperlyConfigured naming it."""

from django.core.exceptions import ImproperlyConfigured

from scoop.settings.base import *  # noqa: F403
from scoop.settings.base import (
    DUCKDB_ENGINE,
    ELASTICSEARCH_API_KEY,
    ELASTICSEARCH_ENGINE,
    ELASTICSEARCH_PASSWORD,
    ELASTICSEARCH_USERNAME,
    env,
    search_backend,
)

SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL")

# The index engine: SCOOP_SEARCH_ENGINE, else Elasticsearch when a cluster is configured. The
# Elasticsearch engine requires its URL and credentials (an API key, or a username with its password).
SCOOP_SEARCH_ENGINE = env.str(
    "SCOOP_SEARCH_ENGINE", default=ELASTICSEARCH_ENGINE if env.str("ELASTICSEARCH_URL", default="") else DUCKDB_ENGINE)
if SCOOP_SEARCH_ENGINE == ELASTICSEARCH_ENGINE:
    ELASTICSEARCH_URL = env.str("ELASTICSEARCH_URL")
    if ELASTICSEARCH_USERNAME and not ELASTICSEARCH_PASSWORD:
        raise ImproperlyConfigured(
            "Set the ELASTICSEARCH_PASSWORD environment variable (ELASTICSEARCH_USERNAME is set)")
    if not (ELASTICSEARCH_API_KEY or ELASTICSEARCH_USERNAME):
        raise ImproperlyConfigured(
            "Set the ELASTICSEARCH_API_KEY environment variable, or ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD")
SCOOP_SEARCH_BACKEND = search_backend(SCOOP_SEARCH_ENGINE)

DEBUG = False
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Preloading HSTS commits the whole domain to HTTPS for years: the operator's call,
# so `check --deploy` does not nag about it.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
# API rate counters (scoop/throttles.py) must be shared by every web process: point CACHE_URL
# at Redis (redis://host:6379/1). The default keeps them per process.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
