"""A service's refusal that a page view does not catch is the page of its status, never a 500."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import include, path

from core import errors
from org.roles import Role

pytestmark = pytest.mark.django_db


class _Refused(errors.Conflict):
    default_message = "这张工单已办结。"


class _Unavailable(errors.DomainError):
    status = 503
    default_message = "稍后再试。"


def _raises(error):
    def view(request):
        raise error
        return HttpResponse()  # pragma: no cover

    return view


urlpatterns = [
    path("page/missing/", _raises(errors.NotFound("没有这个对象。"))),
    path("page/forbidden/", _raises(errors.Forbidden())),
    path("page/conflict/", _raises(_Refused())),
    path("page/server/", _raises(_Unavailable())),
    path("api/plain/", _raises(errors.NotFound("没有这个对象。"))),
    path("", include("contactcenter.urls")),  # the pages' menu reverses the project's names
]


@pytest.fixture
def page_client(staff):
    client = Client(raise_request_exception=False)
    client.force_login(staff[Role.ANALYST])
    return client


@override_settings(ROOT_URLCONF=__name__)
@pytest.mark.parametrize(
    ("url", "status", "text"),
    [
        ("/page/missing/", 404, "没有这个对象。"),
        ("/page/forbidden/", 403, ""),
        ("/page/conflict/", 409, "这张工单已办结。"),
        ("/page/server/", 400, "稍后再试。"),  # a refusal is the client's 4xx, never a 5xx
    ],
)
def test_a_domain_error_in_a_page_view_is_the_page_of_its_status(page_client, url, status, text):
    response = page_client.get(url)
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert text in response.content.decode()


@override_settings(ROOT_URLCONF=__name__)
def test_a_domain_error_in_a_plain_view_under_the_api_is_the_envelope(page_client):
    response = page_client.get("/api/plain/")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "没有这个对象。"}}
