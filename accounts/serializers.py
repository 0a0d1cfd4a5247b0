"""Request and answer shapes of the audit log's API."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import ACTIONS, AuditEvent


class AuditFilterInput(serializers.Serializer):
    action = serializers.ChoiceField(choices=list(ACTIONS), required=False, help_text="only this action")
    actor = serializers.CharField(required=False, allow_blank=True, max_length=150,
                                  help_text="only this user's actions; empty: the server's own (commands)")
    target = serializers.RegexField(r"^[a-z_]+:\S+$", required=False, max_length=100,
                                    help_text="only this record, as kind:id, e.g. video:12",
                                    error_messages={"invalid": "name the record as kind:id, e.g. video:12"})


@extend_schema_field({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
                      "nullable": True, "description": "an owner's username (video.owner), or roles (role.change)"})
class OwnerOrRolesField(serializers.JSONField):
    """What an owner or role change went from or to: a username or null, or a list of roles."""


class AuditDetailsOutput(serializers.Serializer):
    """What an action changed; each action fills in its own fields (docs/operations/security.md)."""

    name = serializers.CharField(required=False, help_text="schema.upload, video.delete: the name")
    version = serializers.IntegerField(required=False, allow_null=True,
                                       help_text="the new version (schema or video); video.restore: the one restored")
    source_format = serializers.CharField(required=False, help_text="schema.upload: the layout uploaded")
    job = serializers.CharField(required=False, help_text="the ingest job that made or makes the change")
    replaced_version = serializers.IntegerField(required=False, allow_null=True,
                                                help_text="video.replace: the version replaced")
    format = serializers.CharField(required=False, help_text="video.replace: the payload's format")
    counts = serializers.DictField(child=serializers.IntegerField(), required=False,
                                   help_text="what the video holds after (video.delete: before)")
    replaced_counts = serializers.DictField(child=serializers.IntegerField(), required=False,
                                            help_text="video.replace: what the video held before")
    versions = serializers.IntegerField(required=False, help_text="video.delete: the versions deleted with it")
    cancelled_jobs = serializers.ListField(child=serializers.CharField(), required=False,
                                           help_text="video.delete: its queued jobs, cancelled")
    how = serializers.ChoiceField(choices=["upload", "path", "url"], required=False,
                                  help_text="video.media: an upload, a file on the server, or a URL")
    media = serializers.CharField(required=False, help_text="video.media: the new media file or URL")
    replaced = serializers.CharField(required=False, allow_null=True,
                                     help_text="video.media: the media it had (kept while a version refers to it)")
    role = serializers.CharField(required=False, help_text="token.issue: the role given")
    new_user = serializers.BooleanField(required=False, help_text="token.issue: the user was created")
    new_token = serializers.BooleanField(required=False, help_text="token.issue: a new token was made")
    rotated = serializers.BooleanField(required=False, help_text="token.issue: the old token was replaced")
    via = serializers.CharField(required=False, help_text="role.change: issue_token or admin (the Django admin)")

    def to_representation(self, details):
        # Each action has its own fields: leave out those it did not record (rather than null).
        answer = super().to_representation(details)
        return {key: value for key, value in answer.items() if key in details}

    def get_fields(self):
        # "from" and "to" are Python keywords: declared here.
        fields = super().get_fields()
        fields["from"] = OwnerOrRolesField(required=False, help_text="video.owner, role.change: before")
        fields["to"] = OwnerOrRolesField(required=False, help_text="video.owner, role.change: after")
        return fields


class AuditEventOutput(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_name", allow_null=True,
                                  help_text="the username; null for the server itself (a command)")
    action = serializers.ChoiceField(choices=list(ACTIONS))
    details = AuditDetailsOutput(help_text="what changed: depends on the action")

    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor", "action", "target", "target_name", "details"]

    def to_representation(self, event):
        answer = super().to_representation(event)
        answer["actor"] = answer["actor"] or None
        return answer
