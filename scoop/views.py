"""Browser pages. Anonymous users see nothing but the login page; the dashboard
needs the analyst or admin role, the schema and ingest pages the admin role.
The pages are shells: their scripts call the REST API with the session."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from accounts.roles import ADMIN, ANALYST, user_roles
from indexer import selectors
from scoop.dashboard import dashboard_page_data, dashboard_schema

# The schema page lists this many of the latest uploads.
SCHEMAS_LISTED = 50


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


@role_required(ANALYST, ADMIN)
def dashboard(request):
    shown = dashboard_schema(choice=request.GET.get("schema", "").strip())
    return _page(request, "dashboard.html", schema=shown.schema, shown=shown,
                 page_data=dashboard_page_data(shown=shown, roles=user_roles(request.user)))


@role_required(ANALYST, ADMIN)
def alerts_page(request):
    return _page(request, "alerts.html")


@role_required(ADMIN)
def schemas_page(request):
    schemas = selectors.schemas_recent(limit=SCHEMAS_LISTED)
    return _page(request, "manage/schemas.html", schemas=schemas, default=selectors.schema_default(),
                 names=selectors.schema_names())


@role_required(ADMIN)
def ingest_jobs_page(request):
    return _page(request, "manage/jobs.html")
