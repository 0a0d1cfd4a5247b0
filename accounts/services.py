"""Writes for users, roles and tokens."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from rest_framework.authtoken.models import Token

from accounts.roles import ADMIN, ROLES


@transaction.atomic
def user_issue_token(*, username: str, role: str, rotate: bool = False) -> Token:
    """Create the user if needed, give it ``role`` (replacing its other roles),
    and return its API token (a new one when ``rotate``)."""
    if role not in ROLES:
        raise ValueError(f"unknown role '{role}'; expected one of {', '.join(ROLES)}")
    user, _ = get_user_model().objects.get_or_create(username=username)
    user.groups.remove(*Group.objects.filter(name__in=ROLES).exclude(name=role))
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    # Admins manage users, tokens and every record: the Django admin site in full.
    user.is_staff = user.is_superuser = role == ADMIN
    user.save(update_fields=["is_staff", "is_superuser"])
    if rotate:
        Token.objects.filter(user=user).delete()
    token, _ = Token.objects.get_or_create(user=user)
    return token
