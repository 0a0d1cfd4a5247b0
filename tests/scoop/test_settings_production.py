"""Production settings: they demand their secrets and run on the real PostgreSQL."""

import os
import subprocess
import sys
import uuid

import pytest

from tests.conftest import REPO, require_service

PG = ("127.0.0.1", 5432)


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SCOOP_", "DJANGO_", "DATABASE_", "CELERY_"))}
    clean.update(env, DJANGO_SETTINGS_MODULE="scoop.settings.production")
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=clean, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without_a_secret(missing, tmp_path):
    env = {
        "SECRET_KEY": "x" * 60,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "ALLOWED_HOSTS": "scoop.example.org",
        "SCOOP_DATA_DIR": str(tmp_path),
    }
    del env[missing]

    result = manage("check", env=env)

    assert result.returncode != 0
    assert f"Set the {missing} environment variable" in result.stderr


@pytest.fixture
def postgres_database():
    require_service("PostgreSQL", *PG)
    import psycopg2

    name = f"scoop_prod_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host=PG[0], port=PG[1], user="postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield f"postgres://postgres@{PG[0]}:{PG[1]}/{name}"
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.mark.services
def test_production_migrates_and_issues_tokens_on_postgresql(postgres_database, tmp_path):
    import psycopg2

    env = {
        "SECRET_KEY": "k3y-" + uuid.uuid4().hex + uuid.uuid4().hex,
        "DATABASE_URL": postgres_database,
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "ALLOWED_HOSTS": "scoop.example.org",
        "SCOOP_DATA_DIR": str(tmp_path),
    }

    migrate = manage("migrate", "--noinput", env=env)
    token = manage("issue_token", "wes", "--role", "worker", env=env)
    deploy = manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    assert migrate.returncode == 0, migrate.stderr
    assert token.returncode == 0, token.stderr
    key = token.stdout.strip().splitlines()[-1]
    with psycopg2.connect(postgres_database) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT u.username, g.name FROM authtoken_token t JOIN auth_user u ON u.id = t.user_id "
            "JOIN auth_user_groups ug ON ug.user_id = u.id JOIN auth_group g ON g.id = ug.group_id WHERE t.key = %s",
            [key],
        )
        assert cursor.fetchall() == [("wes", "worker")]
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
