"""Browser pages. Anonymous users see nothing but the login page."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from indexer.models import LabelSchema, Video
from scoop.accounts.roles import user_roles


@login_required
def home(request):
    return render(
        request,
        "home.html",
        {
            "roles": sorted(user_roles(request.user)),
            "video_count": Video.objects.count(),
            "schemas": LabelSchema.objects.order_by("name", "-version")[:20],
        },
    )
