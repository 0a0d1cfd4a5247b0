"""Writes for users, roles, tokens and the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import models, transaction
from rest_framework.authtoken.models import Token

from accounts.models import ACTIONS, ROLE_CHANGE, TOKEN_ISSUE, AuditEvent
from accounts.roles import ADMIN, ROLES, user_roles


def audit_record(*, actor: AbstractBaseUser | None, action: str, target: models.Model,
                 details: dict[str, Any] | None = None) -> AuditEvent:
    """Record that ``actor`` (None: the server itself) did ``action`` to ``target``
    (any saved record: named ``<model>:<pk>`` with its name of the moment)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action '{action}'; expected one of {', '.join(ACTIONS)}")
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_name=actor.get_username() if actor is not None and actor.is_authenticated else "",
        action=action,
        target=audit_target(target),
        target_name=str(target)[:500],
        details=details or {},
    )


def audit_target(target: models.Model) -> str:
    """How the audit log names a record: ``video:12``, ``labelschema:3``, ``user:5``."""
    return f"{target._meta.model_name}:{target.pk}"


def user_roles_changed(*, user: AbstractBaseUser, before: set[str], actor: AbstractBaseUser | None,
                       via: str) -> None:
    """Record a change of ``user``'s roles (from ``before`` to what they are now), if any."""
    after = user_roles(user)
    if after != before:
        audit_record(actor=actor, action=ROLE_CHANGE, target=user,
                     details={"from": sorted(before), "to": sorted(after), "via": via})


@transaction.atomic
def user_issue_token(*, username: str, role: str, rotate: bool = False,
                     actor: AbstractBaseUser | None = None) -> Token:
    """Create the user if needed, give it ``role`` (replacing its other roles),
    and return its API token (a new one when ``rotate``). The token issue, and a
    change of roles, are recorded in the audit log as done by ``actor`` (None: the
    server's command line)."""
    if role not in ROLES:
        raise ValueError(f"unknown role '{role}'; expected one of {', '.join(ROLES)}")
    user, created_user = get_user_model().objects.get_or_create(username=username)
    before = user_roles(user)
    user.groups.remove(*Group.objects.filter(name__in=ROLES).exclude(name=role))
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    # Admins manage users, tokens and every record: the Django admin site in full.
    user.is_staff = user.is_superuser = role == ADMIN
    user.save(update_fields=["is_staff", "is_superuser"])
    user_roles_changed(user=user, before=before, actor=actor, via="issue_token")
    if rotate:
        Token.objects.filter(user=user).delete()
    token, created_token = Token.objects.get_or_create(user=user)
    audit_record(actor=actor, action=TOKEN_ISSUE, target=user,
                 details={"role": role, "new_user": created_user, "new_token": created_token, "rotated": rotate})
    return token
