from django.conf import settings
from django.contrib import admin
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.api.exceptions import api_not_found
from core.health import healthz
from org.apis import TokenObtainApi

api_patterns: list[URLPattern | URLResolver] = [
    path("auth/token/", TokenObtainApi.as_view(), name="api-token"),
    path("org/", include("org.api_urls")),
    path("audit/", include("audit.urls")),
    path("banking/", include("banking.api_urls")),
    path("risk/", include("banking.risk.api_urls")),
    path("ivr/", include("ivr.api_urls")),
    path("tickets/", include("tickets.api_urls")),
    path("cti/", include("calls.cti_urls")),
    path("calls/", include("calls.api_urls")),
    path("outbound/desk/", include("calls.outbound.desk")),  # the agent desktop's outbound side
    path("outbound/", include("calls.outbound.api_urls")),  # campaigns, lists, do-not-call
    path("recordings/", include("calls.recordings.api_urls")),
    path("agents/", include("agents.api_urls")),
    path("reports/", include("reports.api_urls")),
    path("wfm/", include("agents.scheduling.api_urls")),
    path("qa/", include("agents.quality.api_urls")),
    path("notifications/", include("notifications.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Any other path under /api/, line breaks included (``.`` alone stops at one, and the path
    # would fall through to Django's HTML 404: its technical page when DEBUG is on).
    re_path(r"^[\s\S]*$", api_not_found),
]


def favicon(request):
    """Browsers ask for ``/favicon.ico`` before reading a page's ``<link rel="icon">``."""
    return HttpResponsePermanentRedirect(static("favicon.ico"))


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon),
    path("api/", include(api_patterns)),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("", include("org.urls")),
    path("agent/", include("agents.urls")),
    path("calls/", include("calls.urls")),
    path("recordings/", include("calls.recordings.urls")),
    path("outbound/", include("calls.outbound.urls")),
    path("tickets/", include("tickets.urls")),
    path("reports/", include("reports.urls")),
    path("banking/", include("banking.urls")),
    path("risk/alerts/", include("banking.risk.urls")),
    path("ivr/", include("ivr.urls")),
    path("notifications/", include("notifications.urls")),
]

handler400 = "org.views.bad_request"
handler404 = "org.views.page_not_found"
handler403 = "org.views.permission_denied"
handler500 = "org.views.server_error"

admin.site.site_header = _("Customer Service Center · Administration")
admin.site.site_title = _("Customer Service Center")
admin.site.index_title = _("System administration")
if settings.DEBUG:  # pragma: no cover - media in the embedded default only
    from django.conf.urls.static import static as media_urlpatterns

    urlpatterns += media_urlpatterns(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
