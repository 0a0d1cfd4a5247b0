"""Who may write to a video: re-ingest it, append live chunks to it, change it, give it media.

- its owner (the user who created it, unless an admin reassigned it);
- admins, to any video;
- nobody else: a video without an owner (the demo videos, videos from before owners were
  recorded) is the admins' alone.

``user`` None is the server itself (``load_demo``, ``ingest_file``, video analysis): it
may write to any video. The services check when a request arrives, and ingest jobs check
again when they start, so a job queued before its video was reassigned does not write."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from accounts.roles import ADMIN, user_has_role
from indexer.models import Video


class WriteRefused(Exception):
    """A write the user may not make (403): ``message`` says whose the video is and who may."""

    status = 403

    def __init__(self, message: str, *, path: str | None = None):
        self.message = message
        self.path = path
        super().__init__(message)


def video_write_refusal(*, video: Video, user: AbstractBaseUser | AnonymousUser | None) -> str | None:
    """Why ``user`` may not write to ``video``, or None when it may."""
    if user is None or user_has_role(user, ADMIN) or (video.owner_id is not None and video.owner_id == user.pk):
        return None
    if video.owner_id is None:
        return (f"video '{video.name}' has no owner (a demo video, or one from before owners were recorded): "
                "only admins may write to it")
    owner = video.owner.get_username()
    return (f"video '{video.name}' belongs to {owner}: only {owner} and admins may write to it "
            "(an admin may reassign it)")


def video_write_check(*, video: Video, user: AbstractBaseUser | AnonymousUser | None) -> None:
    """Raise :class:`WriteRefused` unless ``user`` may write to ``video``."""
    refusal = video_write_refusal(video=video, user=user)
    if refusal is not None:
        raise WriteRefused(refusal)


def admin_check(*, user: AbstractBaseUser | AnonymousUser | None, what: str) -> None:
    """Raise :class:`WriteRefused` unless ``user`` is an admin (or the server itself)."""
    if user is not None and not user_has_role(user, ADMIN):
        raise WriteRefused(f"only admins may {what}")
