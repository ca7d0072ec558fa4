from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination

from core.api.validation import ASCII_INTEGER


def _bad_parameter(name: str, message) -> serializers.ValidationError:
    return serializers.ValidationError({name: [serializers.ErrorDetail(str(message), code="invalid")]})


class StandardPagination(PageNumberPagination):
    """``{"count", "next", "previous", "results"}`` with ``?page=`` and ``?page_size=`` (max 500).

    Both parameters are whole numbers in ASCII digits: anything else (``page_size=null``,
    ``page=٣``, ``page_size=1000``) is a 400 ``invalid_input`` naming the parameter, where DRF
    would quietly serve the default page size or the nearest page. A page past the last is 404.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        if not ASCII_INTEGER.fullmatch(raw) or not 1 <= int(raw) <= self.max_page_size:
            raise _bad_parameter(
                self.page_size_query_param,
                _("A whole number from 1 to %(max)d.") % {"max": self.max_page_size},
            )
        return int(raw)

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param)
        if raw is None or raw == "":
            return 1
        if raw in self.last_page_strings:
            return paginator.num_pages
        if not ASCII_INTEGER.fullmatch(raw) or int(raw) < 1 or len(raw) > 18:
            raise _bad_parameter(self.page_query_param, _("A whole number from 1."))
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        return parameters
