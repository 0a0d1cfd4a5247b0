"""Settings package: ``base`` (shared), ``embedded`` (default: SQLite, DuckDB,
in-process worker), ``production`` (PostgreSQL, Elasticsearch, Celery on Redis),
``test``. Every value comes from the environment through one reader (``env``)."""
