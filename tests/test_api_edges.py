"""The API's edges (issue 12 point 5): whatever arrives, the answer is a 4xx envelope with a
code, never a 500 or Django's HTML page — NUL characters, datetimes PostgreSQL cannot store,
deep JSON, unknown routes and CSRF failures, oversized requests, ids in other scripts' digits."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from audit.models import AuditEvent
from banking.models import LossReport
from calls.models import Call, CallEvent
from calls.tests.helpers import event
from org.roles import Role
from tests.factories import OutletFactory
from tests.factories_banking import phone_banking

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"], body
    if field is not None:
        assert field in body["error"].get("fields", {}), body
    return body["error"]


# --- NUL characters ----------------------------------------------------------------------------

NUL_GETS = [
    (Role.SWITCH, "/api/calls/C%00X/"),
    (Role.AGENT, "/api/calls/C%00X/screen-pop/"),
    (Role.SWITCH, "/api/ivr/calls/C%00X/vxml"),
    (Role.DIRECTOR, "/api/org/outlets/O%00X/"),
    (Role.DIRECTOR, "/api/org/outlets/?unit=B0%001"),
    (Role.TEAM_LEAD, "/api/agents/?state=ready%00"),
    (Role.DIRECTOR, "/api/audit/?object_id=%00"),
    (Role.DIRECTOR, "/api/audit/?actor=a%00b"),
    (Role.DIRECTOR, "/api/audit/?action=x%00"),
    (Role.DIRECTOR, "/api/tickets/?q=%00"),
    (Role.DIRECTOR, "/api/tickets/?unit=B01%00"),
]
NUL_POSTS = [
    (Role.SWITCH, "/api/ivr/calls/C%00X/events/", {"seq": 1, "type": "dtmf", "digits": "1"}),
    (Role.TEAM_LEAD, "/api/agents/agent%00x/state/", {"state": "ready"}),
    (Role.AGENT, "/api/calls/C%00X/answer/", {}),
]


@pytest.mark.parametrize(("role", "url"), NUL_GETS)
def test_nul_in_a_path_segment_or_query_is_400_invalid_input(api_for, staff, role, url):
    assert_error(api_for(staff[role]).get(url), 400, "invalid_input")


@pytest.mark.parametrize(("role", "url", "body"), NUL_POSTS)
def test_nul_in_a_path_of_a_write_is_400_invalid_input(api_for, staff, role, url, body):
    assert_error(api_for(staff[role]).post(url, body, format="json"), 400, "invalid_input")


def test_nul_anywhere_in_a_body_is_400_with_the_field_named(api_for, staff):
    client = api_for(staff[Role.AGENT])
    body = {"kind": "complaint", "category": "other", "description": "a\x00b"}
    error = assert_error(client.post("/api/tickets/", body, format="json"), 400, "invalid_input", "description")
    assert error["fields"]["description"][0]["code"] == "nul_character"
    # Inside a nested object too (a DictField takes any value).
    error = assert_error(
        client.post(
            "/api/calls/C-1/wrapup/", {"disposition": "resolved", "ticket": {"description": "x\x00"}}, format="json"
        ),
        400,
        "invalid_input",
        "ticket",
    )


def test_nul_in_a_cti_event_refuses_that_event_only(switch, queues):
    t0 = timezone.now() - timedelta(minutes=5)
    response = switch.post(
        "/api/cti/events/",
        [event("NUL-1", "offered", t0), event("NUL-2", "offered", t0, ani="138\x00")],
        format="json",
    )
    assert response.status_code == 200
    statuses = [(result["status"], result.get("code")) for result in response.json()["results"]]
    assert statuses == [("accepted", None), ("rejected", "invalid_input")]
    assert list(Call.objects.values_list("call_id", flat=True)) == ["NUL-1"]


def test_nul_in_a_token_is_401_not_a_database_error(api_client, staff):
    api_client.credentials(HTTP_AUTHORIZATION="Token abc\x00def")
    assert_error(api_client.get("/api/org/me/"), 401, "authentication_failed")


def test_nul_in_a_page_query_outside_the_api_is_400(client_for, staff):
    response = client_for(staff[Role.DIRECTOR]).get("/tickets/?q=%00")
    assert response.status_code == 400


# --- datetimes and dates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["2026-01-05T10:00:00+16:00", "2026-01-05T10:00:00-20:30", "0001-01-01T00:00:00Z", "3000-01-02T00:00:00Z"],
)
def test_ticket_received_at_postgresql_cannot_store_is_400_naming_it(api_for, staff, value):
    body = {"kind": "complaint", "category": "other", "description": "x", "received_at": value}
    assert_error(
        api_for(staff[Role.AGENT]).post("/api/tickets/", body, format="json"), 400, "invalid_input", "received_at"
    )


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/tickets/?date_to=9999-12-31", "date_to"),
        ("/api/tickets/?date_from=0001-01-01", "date_from"),
        ("/api/ivr/statistics/?date_from=2026-01-01&date_to=9999-12-31", "date_to"),
        ("/api/audit/?created_from=2026-01-05T10:00:00%2B20:00", "created_from"),
        ("/api/audit/?created_to=0001-01-01T00:00:00Z", "created_to"),
    ],
)
def test_dates_at_the_edge_of_the_calendar_are_400_naming_the_field(api_for, staff, url, field):
    assert_error(api_for(staff[Role.DIRECTOR]).get(url), 400, "invalid_input", field)


def test_transactions_date_to_at_the_end_of_the_calendar_is_400(api_for, staff):
    pb = phone_banking()
    url = f"/api/banking/accounts/{pb.card.pk}/transactions/?date_to=9999-12-31"
    assert_error(api_for(staff[Role.AGENT]).get(url), 400, "invalid_input", "date_to")


@pytest.mark.parametrize("ts", ["2026-01-05T10:00:00+20:00", "0001-01-01T00:00:00+00:00", "0001-01-01T05:00:00+15:00"])
def test_a_cti_event_with_a_time_postgresql_cannot_store_is_refused_and_leaves_no_rows(switch, queues, ts):
    t0 = timezone.now() - timedelta(minutes=5)
    good = [event("TS-1", "offered", t0), event("TS-1", "queued", t0 + timedelta(seconds=5), queue="general")]
    bad = dict(event("TS-2", "offered", t0), ts=ts)
    response = switch.post("/api/cti/events/", [good[0], bad, good[1]], format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert body["results"][1] == {
        "event_id": bad["event_id"],
        "status": "rejected",
        "code": "invalid_ts",
        "message": body["results"][1]["message"],
    }
    assert list(Call.objects.values_list("call_id", flat=True)) == ["TS-1"]
    assert not CallEvent.objects.filter(call__call_id="TS-2").exists()
    # Alone, the same event is the envelope.
    assert_error(switch.post("/api/cti/events/", bad, format="json"), 400, "invalid_ts")


# --- JSON bodies ----------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [100, 5000, 100_000])
def test_json_nested_deep_is_400_malformed_json(api_client, depth):
    body = "[" * depth + "]" * depth
    response = api_client.post("/api/auth/token/", data=body, content_type="application/json")
    assert_error(response, 400, "malformed_json")
    nested = '{"a":' * depth + "1" + "}" * depth
    assert_error(
        api_client.post("/api/auth/token/", data=nested, content_type="application/json"), 400, "malformed_json"
    )


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_json_body_over_the_upload_limit_is_413(api_client):
    body = json.dumps({"username": "x" * 2000, "password": "y"})
    assert_error(
        api_client.post("/api/auth/token/", data=body, content_type="application/json"), 413, "request_too_large"
    )


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_form_body_over_the_upload_limit_is_413(api_client):
    response = api_client.post(
        "/api/auth/token/", data="username=" + "x" * 2000, content_type="application/x-www-form-urlencoded"
    )
    assert_error(response, 413, "request_too_large")


@override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=10)
def test_too_many_query_parameters_or_form_fields_are_400(api_for, staff):
    client = api_for(staff[Role.DIRECTOR])
    query = "&".join(f"p{n}=1" for n in range(20))
    assert_error(client.get(f"/api/org/outlets/?{query}"), 400, "too_many_fields")
    response = client.post("/api/auth/token/", data=query, content_type="application/x-www-form-urlencoded")
    assert_error(response, 400, "too_many_fields")


# --- routes and CSRF ------------------------------------------------------------------------------


def test_a_post_to_an_unknown_api_route_is_json_404_even_with_csrf_checks(staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff[Role.AGENT])
    for method in ("post", "put", "delete", "patch"):
        assert_error(getattr(client, method)("/api/no/such/route/"), 404, "not_found")
    assert_error(Client(enforce_csrf_checks=True).post("/api/nope"), 404, "not_found")


@pytest.mark.parametrize("segment", ["%0A", "%0D%0A", "a%0Ab", "%0B", "%E2%80%A8"])
@pytest.mark.parametrize("debug", [False, True])  # ``make run`` serves with DEBUG on
def test_a_line_break_in_an_api_path_is_json_404_not_a_page(api_for, staff, segment, debug):
    # A regex's ``.`` does not match a line break: such a path once missed the API's catch-all
    # and got Django's HTML 404 (with DEBUG, its technical page listing the URLconf).
    with override_settings(DEBUG=debug):
        for url in (f"/api/tickets/{segment}/accept/", f"/api/wfm/rosters/{segment}/", f"/api/{segment}"):
            assert_error(api_for(staff[Role.ANALYST]).post(url, {}, format="json"), 404, "not_found")
            assert_error(api_for(staff[Role.ANALYST]).get(url), 404, "not_found")


def test_a_session_write_without_the_csrf_token_is_403_envelope(staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff[Role.AGENT])
    response = client.post("/api/agents/me/state/", {"state": "ready"}, content_type="application/json")
    assert_error(response, 403, "csrf_failed")


def test_the_csrf_failure_view_answers_the_envelope_under_api_and_a_page_elsewhere(rf):
    from core.api.exceptions import csrf_failure

    assert_error(csrf_failure(rf.post("/api/tickets/"), reason="CSRF cookie not set."), 403, "csrf_failed")
    page = csrf_failure(rf.post("/tickets/new/"), reason="CSRF cookie not set.")
    assert page.status_code == 403 and page["Content-Type"].startswith("text/html")


def test_django_400_under_api_is_the_envelope(rf):
    from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent

    from org.views import bad_request

    assert_error(bad_request(rf.get("/api/x/"), RequestDataTooBig("big")), 413, "request_too_large")
    assert_error(bad_request(rf.get("/api/x/"), TooManyFieldsSent("many")), 400, "too_many_fields")
    assert_error(bad_request(rf.get("/api/x/"), SuspiciousOperation("odd")), 400, "bad_request")


# --- integers in ASCII digits ---------------------------------------------------------------------


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.mark.parametrize(
    "spell",
    [
        lambda pk: str(pk).translate(ARABIC_INDIC),
        lambda pk: str(pk).translate(FULL_WIDTH),
        lambda pk: f"{pk} ",
        lambda pk: f" {pk}",
        lambda pk: f"+{pk}",
        lambda pk: "_".join(str(pk)) if pk > 9 else f"0_{pk}",
        lambda pk: "9" * 30,
    ],
    ids=["arabic-indic", "full-width", "trailing-space", "leading-space", "plus", "underscore", "huge"],
)
def test_an_account_id_in_other_digits_or_with_spaces_is_refused_and_blocks_nothing(api_for, staff, spell):
    pb = phone_banking()
    body = {"account": spell(pb.card.pk), "verification": "id_document"}
    response = api_for(staff[Role.AGENT]).post("/api/banking/loss-reports/", body, format="json")
    error = assert_error(response, 400, "invalid_input", "account")
    assert error["fields"]["account"][0]["code"] in {"invalid_integer", "integer_out_of_range"}
    assert not LossReport.objects.exists()


def test_an_account_id_as_a_json_number_or_plain_digits_still_works(api_for, staff):
    pb = phone_banking()
    client = api_for(staff[Role.AGENT])
    response = client.post(
        "/api/banking/loss-reports/", {"account": pb.card.pk, "verification": "id_document"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert LossReport.objects.get().account_id == pb.card.pk


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/tickets/?customer=٣", "customer"),
        ("/api/tickets/?customer=%EF%BC%91", "customer"),
        ("/api/tickets/?page=٣", "page"),
        ("/api/tickets/?page=1%20", "page"),
        ("/api/tickets/?page_size=null", "page_size"),
        ("/api/tickets/?page_size=abc", "page_size"),
        ("/api/tickets/?page_size=0", "page_size"),
        ("/api/tickets/?page_size=501", "page_size"),
        ("/api/org/units/?page_size=%EF%BC%95", "page_size"),
        ("/api/audit/?page=abc", "page"),
    ],
)
def test_integer_query_parameters_are_ascii_digits(api_for, staff, url, field):
    assert_error(api_for(staff[Role.DIRECTOR]).get(url), 400, "invalid_input", field)


def test_page_size_in_ascii_digits_is_honoured(api_for, staff):
    OutletFactory.create_batch(3, unit=staff["unit_staff_b01"].profile.unit)
    body = api_for(staff[Role.DIRECTOR]).get("/api/org/outlets/?page_size=2").json()
    assert body["count"] == 3 and len(body["results"]) == 2


# --- callbacks ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delta", "code"), [(timedelta(hours=-2), "due_in_past"), (timedelta(days=400), "due_too_far")]
)
def test_a_callback_due_in_the_past_or_far_ahead_is_refused(make_agent, as_user, delta, code):
    agent = make_agent("cb", skills={"card": 3})
    body = {"phone": "13800000002", "queue": "card", "due_at": (timezone.now() + delta).isoformat()}
    assert_error(as_user(agent).post("/api/agents/callbacks/", body, format="json"), 400, code)
    ok = dict(body, due_at=(timezone.now() + timedelta(days=2)).isoformat())
    assert as_user(agent).post("/api/agents/callbacks/", ok, format="json").status_code == 201


def test_denied_edges_leave_no_audit_noise(api_for, staff):
    """A malformed request is answered before any view: no permission-denied audit row."""
    api_for(staff[Role.AGENT]).get("/api/audit/?actor=%00")
    assert not AuditEvent.objects.filter(action="auth.permission_denied").exists()


@pytest.mark.parametrize("q", ["²", "#¹²", "٣"])
def test_a_search_term_in_other_digits_is_text_not_a_number(api_for, staff, q):
    response = api_for(staff[Role.DIRECTOR]).get("/api/tickets/", {"q": q})
    assert response.status_code == 200 and response.json()["count"] == 0


def test_the_simulator_page_takes_a_version_in_ascii_digits_only(client_for, staff):
    assert client_for(staff[Role.MAINTAINER]).get("/ivr/simulator/?version=²").status_code == 200


def test_a_date_filter_at_the_end_of_the_calendar_on_the_work_order_page_is_not_a_500(client_for, staff):
    assert client_for(staff[Role.DIRECTOR]).get("/tickets/?date_to=9999-12-31").status_code in {200, 400}


def test_an_edge_refusal_still_reports_the_other_bad_fields(api_for, staff):
    body = {"account": "٣", "verification": "nope"}
    error = assert_error(
        api_for(staff[Role.AGENT]).post("/api/banking/loss-reports/", body, format="json"), 400, "invalid_input"
    )
    assert list(error["fields"]) == ["account", "verification"]
    assert error["fields"]["account"][0]["code"] == "invalid_integer"
