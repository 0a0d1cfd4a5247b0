"""Reads: label schemas, jobs, videos."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from indexer.models import IngestJob, LabelSchema, Video
from indexer.ontology import suggestion
from scoop.accounts.roles import ADMIN, user_has_role


class SchemaNotFound(LookupError):
    pass


def schema_resolve(*, ref: str | int | None) -> LabelSchema:
    """The schema a request names: an id, ``name`` (its newest version) or
    ``name:version``; with no name, the newest version of the only schema.

    Raises :class:`SchemaNotFound` saying why.
    """
    if ref in (None, ""):
        names = list(LabelSchema.objects.values_list("name", flat=True).distinct())
        if not names:
            raise SchemaNotFound("no label schema has been uploaded yet; an admin must POST /api/v1/schemas/ first")
        if len(names) > 1:
            raise SchemaNotFound(f"several schemas exist ({', '.join(sorted(names))}): name one with 'schema'")
        return LabelSchema.objects.filter(name=names[0]).order_by("-version").first()
    text = str(ref)
    if text.isdigit():
        schema = LabelSchema.objects.filter(pk=int(text)).first()
        if schema is None:
            raise SchemaNotFound(f"no schema has id {text}")
        return schema
    name, _, version = text.partition(":")
    schemas = LabelSchema.objects.filter(name=name)
    if version:
        if not version.isdigit():
            raise SchemaNotFound(f"schema version must be a number, got '{version}'")
        schemas = schemas.filter(version=int(version))
    schema = schemas.order_by("-version").first()
    if schema is None:
        known = LabelSchema.objects.values_list("name", flat=True).distinct()
        raise SchemaNotFound(f"no schema named '{text}'{suggestion(name, known)}")
    return schema


def schema_active() -> LabelSchema | None:
    """The schema the dashboard and searches use: the newest upload of all."""
    return LabelSchema.objects.order_by("-created_at", "-id").first()


def ingest_jobs_visible(*, user: AbstractBaseUser) -> QuerySet[IngestJob]:
    """Admins see every job, workers their own."""
    jobs = IngestJob.objects.select_related("schema", "video")
    return jobs if user_has_role(user, ADMIN) else jobs.filter(created_by=user)


def videos_all() -> QuerySet[Video]:
    return Video.objects.all()
