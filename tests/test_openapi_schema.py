"""The OpenAPI schema tells the truth (issue 12 point 6): error responses with the envelope,
paginated lists as pages, nullable fields as nullable, page_size validated. The live check —
schemathesis with every role's token against a served, seeded database — is
``scripts/schemathesis_run.py`` (a CI step)."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db

ENVELOPE = "#/components/schemas/ErrorEnvelope"


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


def body_schema(response: dict) -> dict:
    return response.get("content", {}).get("application/json", {}).get("schema", {})


def test_every_operation_documents_its_errors_with_the_envelope(schema):
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        assert "400" in responses, (method, path)
        for status, response in responses.items():
            if status == "414":  # gunicorn's own answer to an over-long request line: no body of ours
                assert "content" not in response, (method, path)
            elif status >= "400":
                assert body_schema(response) == {"$ref": ENVELOPE}, (method, path, status)
        if path == "/api/notifications/sms/receipts/":  # signed by the gateway, no login: 403 only
            assert "403" in responses and "401" not in responses, (method, path)
        elif path != "/api/auth/token/":
            assert {"401", "403"} <= set(responses), (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
        if method in {"post", "put", "patch"}:
            assert {"409", "413", "415", "422"} <= set(responses), (method, path)
    assert "429" in schema["paths"]["/api/auth/token/"]["post"]["responses"]


def test_the_envelope_component_has_code_message_and_field_details(schema):
    components = schema["components"]["schemas"]
    assert components["ErrorEnvelope"]["required"] == ["error"]
    error = components[components["ErrorEnvelope"]["properties"]["error"]["$ref"].rsplit("/", 1)[1]]
    assert set(error["required"]) == {"code", "message"} and {"fields", "details"} <= set(error["properties"])


@pytest.mark.parametrize(
    "path",
    [
        "/api/tickets/{ticket_id}/history/",
        "/api/banking/accounts/{account_id}/transactions/",
        "/api/tickets/",
        "/api/audit/",
        "/api/org/units/",
        "/api/agents/callbacks/",
    ],
)
def test_paginated_endpoints_are_described_as_pages(schema, path):
    ok = body_schema(schema["paths"][path]["get"]["responses"]["200"])
    name = ok["$ref"].rsplit("/", 1)[1]
    page = schema["components"]["schemas"][name]
    assert {"count", "next", "previous", "results"} <= set(page["properties"]), name
    assert page["properties"]["results"]["type"] == "array"
    parameters = {p["name"]: p["schema"] for p in schema["paths"][path]["get"]["parameters"] if p["in"] == "query"}
    assert parameters["page_size"] == {"type": "integer", "minimum": 1, "maximum": 500}


def test_the_history_event_has_its_action(schema):
    ok = body_schema(schema["paths"]["/api/tickets/{ticket_id}/history/"]["get"]["responses"]["200"])
    page = schema["components"]["schemas"][ok["$ref"].rsplit("/", 1)[1]]
    event = schema["components"]["schemas"][page["properties"]["results"]["items"]["$ref"].rsplit("/", 1)[1]]
    assert "action" in event["properties"] and "action" in event["required"]


@pytest.mark.parametrize(
    ("component", "field"),
    [("TicketDetail", "merged_into"), ("MenuVersion", "created_by"), ("MenuVersion", "published_by")],
)
def test_fields_null_when_unset_are_nullable(schema, component, field):
    assert schema["components"]["schemas"][component]["properties"][field].get("nullable") is True


def test_served_list_pages_match_the_declared_shape(api_for, staff):
    """The truth behind the schema: a paginated list answers a page, with the fields declared."""
    from org.roles import Role

    body = api_for(staff[Role.DIRECTOR]).get("/api/org/units/?page_size=1").json()
    assert set(body) == {"count", "next", "previous", "results"} and len(body["results"]) == 1
