"""The error envelope: every API error is ``{"error": {"code", "message"}}`` with a 4xx status."""

import pytest

from org.roles import Role

pytestmark = pytest.mark.django_db


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_malformed_json_is_400_malformed_json(api_client):
    response = api_client.post("/api/auth/token/", data="{not json", content_type="application/json")
    assert_error(response, 400, "malformed_json")


def test_unknown_field_is_400_unknown_field(api_client):
    response = api_client.post("/api/auth/token/", {"username": "a", "password": "b", "pasword": "c"}, format="json")
    error = assert_error(response, 400, "unknown_field")
    assert "pasword" in error["fields"]


def test_bad_type_is_400_invalid_input(api_client):
    response = api_client.post("/api/auth/token/", {"username": ["a"], "password": "b"}, format="json")
    error = assert_error(response, 400, "invalid_input")
    assert error["fields"]["username"][0]["code"] == "invalid"


def test_missing_field_is_400_with_field_detail(api_client):
    error = assert_error(api_client.post("/api/auth/token/", {}, format="json"), 400, "invalid_input")
    assert set(error["fields"]) == {"username", "password"}


def test_json_array_body_is_refused(api_client):
    response = api_client.post("/api/auth/token/", [1, 2], format="json")
    assert_error(response, 400, "invalid_body")


def test_unsupported_media_type(api_client):
    response = api_client.post("/api/auth/token/", data="<x/>", content_type="application/xml")
    assert_error(response, 415, "unsupported_media_type")


def test_unknown_api_route_is_json_404(api_client):
    assert_error(api_client.get("/api/no/such/thing/"), 404, "not_found")


def test_unknown_api_route_is_json_404_for_post_too(api_client):
    assert_error(api_client.post("/api/nope", {}, format="json"), 404, "not_found")


def test_unauthenticated_is_401_with_token_challenge(api_client):
    response = api_client.get("/api/org/units/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


def test_bad_token_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_error(api_client.get("/api/org/units/"), 401, "authentication_failed")


def test_method_not_allowed(api_for, staff):
    assert_error(api_for(staff[Role.AGENT]).delete("/api/org/units/"), 405, "method_not_allowed")


def test_html_404_outside_api(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_domain_error_becomes_envelope():
    from core.api.exceptions import exception_handler
    from core.errors import Unprocessable

    response = exception_handler(Unprocessable("No money.", code="insufficient_funds"), {"request": None})
    assert response.status_code == 422
    assert response.data == {"error": {"code": "insufficient_funds", "message": "No money."}}


def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/auth/token/" in schema.content and b"/api/org/units/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content.lower()
    assert b"cdn.jsdelivr" not in docs.content  # no CDN on the bank's network


def test_token_authentication_loads_the_role_in_one_query(api_client, staff, django_assert_num_queries):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=staff[Role.AGENT])
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    with django_assert_num_queries(1):  # token + user + profile; the view itself reads nothing
        assert api_client.get("/api/org/me/").status_code == 200
