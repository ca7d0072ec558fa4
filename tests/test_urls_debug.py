"""The URLconf as the embedded default (DEBUG) loads it: media served, and ``/favicon.ico`` still
redirects to the static icon (the media helper once took the name of the static-URL helper)."""

import importlib

from django.test import RequestFactory, override_settings


def test_favicon_redirects_to_the_static_icon_with_debug_on():
    import contactcenter.urls as urls

    try:
        with override_settings(DEBUG=True):
            debug_urls = importlib.reload(urls)
            response = debug_urls.favicon(RequestFactory().get("/favicon.ico"))
            media = debug_urls.settings.MEDIA_URL.strip("/")
            assert any(str(pattern.pattern).lstrip("^").startswith(media) for pattern in debug_urls.urlpatterns)
        assert response.status_code == 301
        assert response["Location"].endswith("/favicon.ico") and response["Location"].startswith("/")
    finally:
        importlib.reload(urls)
