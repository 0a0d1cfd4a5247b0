"""The OpenAPI document (``/api/schema/``) and its Swagger UI page (``/api/docs/``)
for people who signed in: an anonymous browser is sent to the login page."""

from django.contrib.auth.views import redirect_to_login
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.exceptions import NotAuthenticated


def _wants_html(request) -> bool:
    return "text/html" in request.headers.get("Accept", "")


class SchemaView(SpectacularAPIView):
    """The OpenAPI document; an anonymous browser is sent to the login page, an
    anonymous API client gets 401."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def handle_exception(self, exc):
        if isinstance(exc, NotAuthenticated) and _wants_html(self.request):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI over the OpenAPI document, with a link back to the dashboard; the
    anonymous are sent to the login page. Its start-up script is loaded from a URL,
    not inline: the CSP allows no inline script."""

    template_name = "api_docs.html"

    def handle_exception(self, exc):
        if isinstance(exc, NotAuthenticated):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)
