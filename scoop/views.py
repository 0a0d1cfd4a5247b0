"""Browser pages. Anonymous users see nothing but the login page; the dashboard
needs the analyst or admin role, as does the jobs board; the schema page and a review
campaign's page the admin role. The review pages are the only ones a reviewer sees: the home
page sends a reviewer to them. The pages are shells: their scripts call the REST API
with the session."""

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_safe

from accounts.roles import ADMIN, ANALYST, REVIEWER, user_roles
from analytics.review.models import Campaign
from analytics.review.selectors import campaigns_listed
from indexer import selectors, zones
from scoop.dashboard import dashboard_page_data, dashboard_schema
from scoop.review_pages import campaign_page_data, review_page_data

# The schema page lists this many of the latest uploads.
SCHEMAS_LISTED = 50
# The zone editor offers the still frames of this many videos.
ZONE_EDITOR_VIDEOS = 500
# The upload page sends files in chunks of this size: a lost chunk costs at most this much again.
UPLOAD_CHUNK_BYTES = 8 * 1024 * 1024


def role_required(*roles: str):
    """Log in first (redirect), then 403 unless the user holds one of ``roles``."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not user_roles(request.user) & set(roles):
                raise PermissionDenied(f"This page needs the role {' or '.join(roles)}.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def _page(request, template: str, **context):
    roles = user_roles(request.user)
    return render(request, template, {"roles": sorted(roles), "is_admin": ADMIN in roles, **context})


@require_safe
def favicon(request):
    """Browsers ask for /favicon.ico whatever a page links: send them to the SVG icon
    (its hashed, long-cached name in production), permanently."""
    return redirect(static("favicon.svg"), permanent=True)


@login_required
def home(request):
    """The dashboard; a reviewer (who may not search) lands on the review pages instead."""
    roles = user_roles(request.user)
    if REVIEWER in roles and not roles & {ANALYST, ADMIN}:
        return redirect("review-list")
    return dashboard(request)


@role_required(ANALYST, ADMIN)
def dashboard(request):
    shown = dashboard_schema(choice=request.GET.get("schema", "").strip())
    return _page(request, "dashboard.html", schema=shown.schema, shown=shown,
                 page_data=dashboard_page_data(shown=shown, roles=user_roles(request.user)))


@role_required(ANALYST, ADMIN)
def alerts_page(request):
    return _page(request, "alerts.html")


@role_required(ANALYST, ADMIN)
def upload_page(request):
    """Drag and drop videos: each is sent by the resumable uploads API (docs/api/uploads.md)."""
    return _page(request, "upload.html", chunk_bytes=UPLOAD_CHUNK_BYTES,
                 max_bytes=settings.SCOOP_UPLOAD_MAX_BYTES)


@role_required(ADMIN)
def schemas_page(request):
    schemas = selectors.schemas_recent(limit=SCHEMAS_LISTED)
    return _page(request, "manage/schemas.html", schemas=schemas, default=selectors.schema_default(),
                 names=selectors.schema_names())


@role_required(ANALYST, ADMIN)
def ingest_jobs_page(request):
    """The jobs board: admins see every job and act on them; analysts see their own, and start
    analyses from it."""
    return _page(request, "manage/jobs.html")


@role_required(REVIEWER, ANALYST, ADMIN)
def review_list_page(request):
    return _page(request, "review/list.html", campaigns=campaigns_listed())


@role_required(REVIEWER, ANALYST, ADMIN)
def review_page(request, campaign_id: int):
    campaign = get_object_or_404(Campaign.objects.select_related("schema"), pk=campaign_id)
    return _page(request, "review/review.html", campaign=campaign, page_data=review_page_data(campaign=campaign))


@role_required(ADMIN)
def review_campaign_page(request, campaign_id: int):
    campaign = get_object_or_404(Campaign.objects.select_related("schema"), pk=campaign_id)
    return _page(request, "review/campaign.html", campaign=campaign, page_data=campaign_page_data(campaign=campaign))


@role_required(ADMIN)
def zones_page(request):
    """The zone editor: a still frame of a camera's video to draw a polygon on (issue 21)."""
    return _page(request, "manage/zones.html", videos=zones.zone_editor_videos(limit=ZONE_EDITOR_VIDEOS))
