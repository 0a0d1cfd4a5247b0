"""The audit log: who did what, when, to what.

It lives in the lowest app so that every app may write to it (:func:`accounts.services.audit_record`)
without importing another app: a target is named by its kind and id (``video:12``) and its
name at the time, not by a foreign key, so an entry outlives what it names."""

from django.conf import settings
from django.db import models

SCHEMA_UPLOAD = "schema.upload"
VIDEO_REPLACE = "video.replace"
VIDEO_RESTORE = "video.restore"
VIDEO_DELETE = "video.delete"
VIDEO_MEDIA = "video.media"
VIDEO_OWNER = "video.owner"
TOKEN_ISSUE = "token.issue"
ROLE_CHANGE = "role.change"
ACTIONS = {
    SCHEMA_UPLOAD: "a label schema version was uploaded",
    VIDEO_REPLACE: "an ingest replaced the analytics of an existing video",
    VIDEO_RESTORE: "an admin restored an earlier version of a video",
    VIDEO_DELETE: "a video was deleted",
    VIDEO_MEDIA: "a video's media was given or replaced",
    VIDEO_OWNER: "an admin reassigned a video",
    TOKEN_ISSUE: "an API token was issued (manage.py issue_token)",
    ROLE_CHANGE: "a user's roles changed",
}


class AuditEvent(models.Model):
    """One recorded action. ``actor`` is None for the server itself (a management
    command); ``actor_name`` keeps the username after the user is gone."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="audit_events")
    actor_name = models.CharField(max_length=150, blank=True, help_text="the username; empty for the server itself")
    action = models.CharField(max_length=30, choices=list(ACTIONS.items()), db_index=True)
    target = models.CharField(max_length=100, db_index=True, help_text="kind:id, e.g. video:12")
    target_name = models.CharField(max_length=500, blank=True, help_text="its name at the time")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name or 'server'} {self.action} {self.target}"
