"""Roles are Django groups; superusers count as admins (docs/operations/security.md).

- ``admin``: uploads ontologies and region layers, manages users and tokens, deletes videos.
- ``analyst``: searches, views statistics, plays clips.
- ``worker``: posts analytics and reads its own jobs (token only).
- ``reviewer``: fetches review batches, votes and plays the videos it reviews, nothing else;
  analysts and admins may review too (:mod:`analytics.review`).
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from rest_framework.permissions import BasePermission

ADMIN = "admin"
ANALYST = "analyst"
WORKER = "worker"
REVIEWER = "reviewer"
ROLES = (ADMIN, ANALYST, WORKER, REVIEWER)


def user_roles(user: AbstractBaseUser | AnonymousUser) -> set[str]:
    if not user or not user.is_authenticated:
        return set()
    roles = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    if user.is_superuser:
        roles.add(ADMIN)
    return roles


def user_has_role(user: AbstractBaseUser | AnonymousUser, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))


class _RolePermission(BasePermission):
    roles: tuple[str, ...] = ()

    def has_permission(self, request, view) -> bool:
        return user_has_role(request.user, *self.roles)

    @property
    def message(self) -> str:
        return f"This needs the role {' or '.join(self.roles)}."


class IsAdmin(_RolePermission):
    roles = (ADMIN,)


class IsAnalyst(_RolePermission):
    """Analysts and admins: reading the index."""

    roles = (ANALYST, ADMIN)


class IsWorker(_RolePermission):
    """Workers and admins: posting analytics."""

    roles = (WORKER, ADMIN)


class IsReviewer(_RolePermission):
    """Reviewers, analysts and admins: fetching review batches and voting."""

    roles = (REVIEWER, ANALYST, ADMIN)


class IsAnyRole(_RolePermission):
    """Every role but reviewer, who may only review (label schemas, media details)."""

    roles = (ADMIN, ANALYST, WORKER)
