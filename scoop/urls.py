from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import lockout
from scoop import api_docs, views

urlpatterns = [
    # Browsers ask for /favicon.ico whatever the page links; the icon is an SVG.
    path("favicon.ico", views.favicon, name="favicon"),
    path("", views.home, name="home"),
    path("alerts/", views.alerts_page, name="alerts"),
    path("upload/", views.upload_page, name="upload"),
    path("review/", views.review_list_page, name="review-list"),
    path("review/<int:campaign_id>/", views.review_page, name="review"),
    path("review/<int:campaign_id>/campaign/", views.review_campaign_page, name="review-campaign"),
    path("manage/schemas/", views.schemas_page, name="manage-schemas"),
    path("manage/ingest/", views.ingest_jobs_page, name="manage-ingest"),
    path("zones/", views.zones_page, name="zones"),
    path("login/", lockout.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("indexer.urls")),
    path("api/v1/", include("analytics.urls")),
    path("api/v1/", include("accounts.urls")),
    path("media/", include("indexer.media_urls")),
    path("api/schema/", api_docs.SchemaView.as_view(), name="api-schema"),
    path("api/docs/", api_docs.DocsView.as_view(url_name="api-schema"), name="api-docs"),
]
