"""The issue_token management command."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from accounts.roles import user_roles


def run(*args) -> str:
    out = StringIO()
    call_command("issue_token", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_creates_user_with_role_and_prints_token_last(django_user_model):
    output = run("wes", "--role", "worker")

    token = output.strip().splitlines()[-1]
    user = django_user_model.objects.get(username="wes")
    assert Token.objects.get(user=user).key == token
    assert user_roles(user) == {"worker"}
    assert not user.is_staff


@pytest.mark.django_db
def test_same_token_again_and_rotation_and_role_change(django_user_model):
    first = run("ada", "--role", "analyst").strip()
    again = run("ada", "--role", "admin").strip()
    rotated = run("ada", "--role", "admin", "--rotate").strip()

    user = django_user_model.objects.get(username="ada")
    assert first == again != rotated
    assert user_roles(user) == {"admin"}
    assert user.is_staff


@pytest.mark.django_db
def test_unknown_role_is_refused():
    with pytest.raises(CommandError, match="invalid choice: 'boss'"):
        run("x", "--role", "boss")


@pytest.mark.django_db
def test_the_token_authenticates_api_calls(client):
    token = run("ann", "--role", "analyst").strip()

    response = client.get("/api/v1/videos/", HTTP_AUTHORIZATION=f"Token {token}")
    bad = client.get("/api/v1/videos/", HTTP_AUTHORIZATION="Token not-a-token")

    assert response.status_code == 200
    assert bad.status_code == 401
    assert bad.json()["detail"] == "Invalid token."
