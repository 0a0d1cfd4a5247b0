"""Production: PostgreSQL (psycopg2), Celery workers on Redis, and the
search engine named by SCOOP_SEARCH_ENGINE. Secrets are required: a missing one stops
the process at start-up with ImproperlyConfigured naming it."""

from django.core.exceptions import ImproperlyConfigured

from indexer.search import ENGINES, engine_module, engine_settings
from scoop.settings.base import *  # noqa: F403
from scoop.settings.base import SCOOP_DATA_DIR, env

SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL")
# Alerts leave the server over https only.
SCOOP_WEBHOOK_HTTPS_ONLY = env.bool("SCOOP_WEBHOOK_HTTPS_ONLY", default=True)

# The search engine: SCOOP_SEARCH_ENGINE, else Elasticsearch when a cluster is configured. The
# Elasticsearch engine requires its URL and credentials (an API key, or a username with its password).
SCOOP_SEARCH_ENGINE = env.str(
    "SCOOP_SEARCH_ENGINE", default="elasticsearch" if env.str("ELASTICSEARCH_URL", default="") else "duckdb")
SCOOP_SEARCH_BACKEND = engine_settings(SCOOP_SEARCH_ENGINE, env=env, values={"SCOOP_DATA_DIR": str(SCOOP_DATA_DIR)})
if engine_module(SCOOP_SEARCH_ENGINE).SearchBackend.process_local:
    raise ImproperlyConfigured(
        f"SCOOP_SEARCH_ENGINE={SCOOP_SEARCH_ENGINE} keeps its index in one process's memory, which production's "
        "web and worker processes cannot share: use duckdb or elasticsearch")
if SCOOP_SEARCH_BACKEND["ENGINE"] == ENGINES["elasticsearch"]:
    search_options = SCOOP_SEARCH_BACKEND["OPTIONS"]
    if not search_options["url"]:
        raise ImproperlyConfigured("Set the ELASTICSEARCH_URL environment variable")
    if search_options["username"] and not search_options["password"]:
        raise ImproperlyConfigured(
            "Set the ELASTICSEARCH_PASSWORD environment variable (ELASTICSEARCH_USERNAME is set)")
    if not (search_options["api_key"] or search_options["username"]):
        raise ImproperlyConfigured(
            "Set the ELASTICSEARCH_API_KEY environment variable, or ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD")

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
