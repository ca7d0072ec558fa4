"""Project middleware: the language choice, and the API's edge check of raw request strings.

Language: Simplified Chinese unless the user picked another language. Django's LocaleMiddleware
would follow the browser's Accept-Language, and most workstations' browsers say English; the
center's default is Chinese (DESIGN.md §2).
"""

from urllib.parse import unquote_plus

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

NUL = "\x00"


class CookieLocaleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if chosen not in self.supported:
            chosen = request.headers.get("X-Language")
        language = chosen if chosen in self.supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        patch_vary_headers(response, ("Cookie",))
        response.headers.setdefault("Content-Language", language)
        translation.deactivate()
        return response


class ApiEdgeMiddleware:
    """A NUL character in the path, the query string or a cookie is refused with 400 before any
    view runs: PostgreSQL text cannot hold one, and every string id and filter of the API (call
    ids, outlet codes, usernames, audit filters) would otherwise carry it to the database and
    answer 500. Under ``/api/`` the answer is the envelope (``invalid_input``); request bodies are
    checked by ``InputSerializer`` (docs/api.md, "Input rules")."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._has_nul(request):
            return bad_request_response(request, "invalid_input", _("NUL characters are not allowed."))
        return self.get_response(request)

    @staticmethod
    def _has_nul(request) -> bool:
        if NUL in request.path or NUL in request.path_info:
            return True
        query = request.META.get("QUERY_STRING", "")
        if query and ("%00" in query or NUL in unquote_plus(query)):
            return True
        return any(NUL in value for value in request.COOKIES.values())


def bad_request_response(request, code: str, message: str, status: int = 400):
    """A 4xx answer outside a view: the envelope under ``/api/``, plain text elsewhere."""
    if request.path.startswith("/api/"):
        from core.api.exceptions import error_body

        return JsonResponse(error_body(code, str(message)), status=status)
    return HttpResponse(str(message), status=status, content_type="text/plain; charset=utf-8")


class DomainErrorMiddleware:
    """A service's refusal (``core.errors.DomainError``) that a page view did not catch is the
    page of its status — 404 with the message for a missing object, 403, or the refusal with its
    message — never a 500; under ``/api/`` (views outside DRF) the envelope. DRF's views turn
    them into the envelope themselves (``core.api.exceptions``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.shortcuts import render

        from core.errors import DomainError

        if not isinstance(exception, DomainError):
            return None
        status = exception.status if 400 <= exception.status < 500 else 400
        if request.path.startswith("/api/"):
            return bad_request_response(request, exception.code, exception.message, status)
        template = {404: "errors/404.html", 403: "errors/403.html"}.get(status, "errors/refused.html")
        return render(request, template, {"message": exception.message}, status=status)
