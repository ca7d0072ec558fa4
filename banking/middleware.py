"""Full card and account numbers never travel in a URL (PCI DSS 3.4): a URL is written whole into
every access log on its way (gunicorn, the reverse proxy, the browser's history). An ``/api/``
request whose query string holds a run of 12 or more digits — a card or account number, also
typed with spaces or dashes between groups — is refused with ``400 number_in_url`` before any view
runs, so no client can fall back to putting one there. Searches take the number in a POST body
(``POST /api/banking/customers/search/``). Parameters that name an identifier of a system
(``call_id``, ``event_id``, ``command_id``...: names ending in ``id``) are not checked: switches
name calls with long digit strings. docs/api.md "Numbers never in a URL"."""

from __future__ import annotations

from django.http import JsonResponse
from django.utils.translation import gettext as _

from core.pii import contains_full_number


class NumberInUrlMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/") and request.META.get("QUERY_STRING") and self._number_in_query(request):
            from core.api.exceptions import error_body

            message = _("Card and account numbers may not be sent in a URL: send them in the request body.")
            return JsonResponse(error_body("number_in_url", message), status=400)
        return self.get_response(request)

    @staticmethod
    def _number_in_query(request) -> bool:
        for name, values in request.GET.lists():
            if contains_full_number(name):
                return True
            if name.lower().endswith("id"):
                continue
            if any(contains_full_number(value) for value in values):
                return True
        return False
