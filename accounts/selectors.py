"""Reads of the audit log."""

from django.db.models import QuerySet

from accounts.models import AuditEvent


def audit_events(*, action: str | None = None, actor: str | None = None, target: str | None = None
                 ) -> QuerySet[AuditEvent]:
    """The audit log, newest first, narrowed to one action, one actor (a username; ``""``
    for the server itself) and one target (``video:12``) when they are given."""
    events = AuditEvent.objects.all()
    if action:
        events = events.filter(action=action)
    if actor is not None:
        events = events.filter(actor_name=actor)
    if target:
        events = events.filter(target=target)
    return events
