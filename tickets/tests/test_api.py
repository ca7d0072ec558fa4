"""The work-order API contract (DESIGN.md §6) and its bad-input answers: each a 4xx with a code,
the work order unchanged."""

from datetime import timedelta

import pytest
from django.utils import timezone

from org.roles import Role
from tickets.models import Category, State, Ticket, TicketEvent

from .conftest import local

pytestmark = pytest.mark.django_db


def _error(response, status, code):
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code


def test_create_dispatch_reply_callback_history_through_the_api(api_for, staff, customer):
    agent = api_for(staff[Role.AGENT])
    response = agent.post(
        "/api/tickets/",
        {
            "kind": "complaint",
            "category": "atm_mispost",
            "description": "ATM取款未出钞但已扣账",
            "customer": customer.pk,
            "call_id": "C-20260930-0001",
            "received_at": "2026-09-30T10:00:00+08:00",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    ticket_id = body["id"]
    assert body["state"] == "new" and body["due_at"] is None and body["customer"] == customer.pk

    response = agent.post(f"/api/tickets/{ticket_id}/dispatch/", {"unit": "B01"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "dispatched" and body["unit"] == "B01"
    assert body["due_at"] == "2026-10-13T23:59:59+08:00" and body["due_estimated"] is False

    branch = api_for(staff["unit_staff_b01"])
    response = branch.post(
        f"/api/tickets/{ticket_id}/reply/", {"result": "已核实长款", "resolved": True}, format="json"
    )
    assert response.status_code == 200 and response.json()["state"] == "replied"

    callback = api_for(staff[Role.AGENT]).post(
        f"/api/tickets/{ticket_id}/callback/", {"satisfied": True, "note": "客户满意"}, format="json"
    )
    assert callback.status_code == 200 and callback.json()["state"] == "closed"

    history = api_for(staff[Role.ANALYST]).get(f"/api/tickets/{ticket_id}/history/").json()
    assert [event["action"] for event in history["results"]] == ["create", "dispatch", "reply", "callback"]
    assert history["results"][1]["actor"] == "agent" and history["results"][1]["after"]["unit"] == "B01"
    assert set(history) == {"count", "next", "previous", "results"}


def test_consultation_then_close(api_for, staff):
    client = api_for(staff[Role.AGENT])
    ticket_id = client.post(
        "/api/tickets/", {"kind": "consultation", "category": "other", "description": "咨询利率"}, format="json"
    ).json()["id"]
    response = client.post(f"/api/tickets/{ticket_id}/close/", {}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "closed"
    _error(client.post(f"/api/tickets/{ticket_id}/close/", {}, format="json"), 409, "invalid_transition")


def test_extend_and_approve(api_for, staff):
    ticket = _new_ticket(staff)
    api_for(staff[Role.ANALYST]).post(f"/api/tickets/{ticket.pk}/dispatch/", {"unit": "B01"}, format="json")
    before = Ticket.objects.get(pk=ticket.pk).due_at
    response = api_for(staff["unit_staff_b01"]).post(
        f"/api/tickets/{ticket.pk}/extend/", {"days": 5, "reason": "需要调查"}, format="json"
    )
    assert response.status_code == 200
    extension = response.json()["extensions"][0]
    assert extension["status"] == "pending" and Ticket.objects.get(pk=ticket.pk).due_at == before
    analyst = api_for(staff[Role.ANALYST])
    response = analyst.post(f"/api/tickets/{ticket.pk}/extensions/{extension['id']}/approve/", {}, format="json")
    assert response.status_code == 200 and response.json()["extensions"][0]["status"] == "approved"
    assert Ticket.objects.get(pk=ticket.pk).due_at > before
    _error(
        analyst.post(f"/api/tickets/{ticket.pk}/extensions/{extension['id']}/approve/", {}, format="json"),
        409,
        "extension_not_pending",
    )


def _new_ticket(staff, **kwargs):
    from tickets.services.contacts import ticket_create

    return ticket_create(
        actor=staff[Role.AGENT], kind="complaint", category=kwargs.pop("category", "fees"), description="x", **kwargs
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"kind": "complaint", "category": "lottery", "description": "x"}, "unknown_category"),
        ({"kind": "praise", "category": "fees", "description": "x"}, "unknown_kind"),
        ({"kind": "complaint", "category": "fees", "description": ""}, "invalid_input"),
        ({"kind": "complaint", "category": "fees"}, "invalid_input"),
        ({"kind": "complaint", "category": "fees", "description": "x", "colour": "red"}, "unknown_field"),
        ({"kind": "complaint", "category": "fees", "description": "x", "customer": 999999}, "unknown_customer"),
        ({"kind": "complaint", "category": "fees", "description": "x", "received_at": "yesterday"}, "invalid_input"),
    ],
)
def test_create_bad_input(api_for, staff, body, code):
    _error(api_for(staff[Role.AGENT]).post("/api/tickets/", body, format="json"), 400, code)
    assert not Ticket.objects.exists()


def test_received_in_the_future_is_400(api_for, staff):
    future = (timezone.now() + timedelta(days=1)).isoformat()
    body = {"kind": "complaint", "category": "fees", "description": "x", "received_at": future}
    _error(api_for(staff[Role.AGENT]).post("/api/tickets/", body, format="json"), 400, "received_in_future")
    assert not Ticket.objects.exists()


def test_malformed_json_is_400(api_for, staff):
    response = api_for(staff[Role.AGENT]).post("/api/tickets/", "{", content_type="application/json")
    _error(response, 400, "malformed_json")


def test_unknown_unit_is_400_and_state_unchanged(api_for, staff):
    ticket = _new_ticket(staff)
    _error(
        api_for(staff[Role.ANALYST]).post(f"/api/tickets/{ticket.pk}/dispatch/", {"unit": "B99"}, format="json"),
        400,
        "unknown_unit",
    )
    assert Ticket.objects.get(pk=ticket.pk).state == State.NEW


def test_transition_not_allowed_is_409_and_state_unchanged(api_for, staff, make_ticket):
    ticket = make_ticket(State.CLOSED)
    events = TicketEvent.objects.filter(ticket=ticket).count()
    client = api_for(staff[Role.ANALYST])
    _error(
        client.post(f"/api/tickets/{ticket.pk}/dispatch/", {"unit": "B01"}, format="json"), 409, "invalid_transition"
    )
    ticket.refresh_from_db()
    assert ticket.state == State.CLOSED and TicketEvent.objects.filter(ticket=ticket).count() == events


def test_reply_from_the_wrong_unit_is_404_and_state_unchanged(api_for, staff, make_ticket):
    ticket = make_ticket(State.DISPATCHED, unit="B01")
    response = api_for(staff["unit_staff_b02"]).post(
        f"/api/tickets/{ticket.pk}/reply/", {"result": "x", "resolved": True}, format="json"
    )
    _error(response, 404, "not_found")
    assert Ticket.objects.get(pk=ticket.pk).state == State.DISPATCHED


def test_reply_by_center_staff_is_403(api_for, staff, make_ticket):
    ticket = make_ticket(State.DISPATCHED)
    response = api_for(staff[Role.ANALYST]).post(
        f"/api/tickets/{ticket.pk}/reply/", {"result": "x", "resolved": True}, format="json"
    )
    _error(response, 403, "permission_denied")


def test_reply_needs_result_and_resolved(api_for, staff, make_ticket):
    ticket = make_ticket(State.DISPATCHED)
    client = api_for(staff["unit_staff_b01"])
    _error(client.post(f"/api/tickets/{ticket.pk}/reply/", {"result": "x"}, format="json"), 400, "invalid_input")
    _error(
        client.post(f"/api/tickets/{ticket.pk}/reply/", {"result": "x", "resolved": "perhaps"}, format="json"),
        400,
        "invalid_input",
    )
    assert Ticket.objects.get(pk=ticket.pk).state == State.DISPATCHED


def test_extension_too_long_is_422(api_for, staff, make_ticket):
    ticket = make_ticket(State.DISPATCHED)
    response = api_for(staff["unit_staff_b01"]).post(
        f"/api/tickets/{ticket.pk}/extend/", {"days": 40, "reason": "x"}, format="json"
    )
    _error(response, 422, "extension_too_long")


def test_switch_account_sees_nothing(api_for, staff, make_ticket):
    make_ticket(State.DISPATCHED)
    _error(api_for(staff[Role.SWITCH]).get("/api/tickets/"), 403, "permission_denied")


def test_list_filters(api_for, staff, make_ticket):
    make_ticket(State.DISPATCHED, unit="B01")
    make_ticket(State.DISPATCHED, unit="B02", category=Category.ATM_MISPOST)
    make_ticket(State.NEW)
    client = api_for(staff[Role.ANALYST])
    assert client.get("/api/tickets/").json()["count"] == 3
    assert client.get("/api/tickets/?unit=B02").json()["count"] == 1
    assert client.get("/api/tickets/?state=new").json()["count"] == 1
    assert client.get("/api/tickets/?state=new,dispatched").json()["count"] == 3
    assert client.get("/api/tickets/?category=atm_mispost").json()["count"] == 1
    assert client.get("/api/tickets/?overdue=true").json()["count"] == 0
    _error(client.get("/api/tickets/?state=lost"), 400, "invalid_input")


def test_overdue_filter_and_flag(api_for, staff):
    from tickets.services.workflow import ticket_dispatch

    ticket = _new_ticket(staff, received_at=local(2025, 3, 3, 9, 0))
    ticket_dispatch(ticket=ticket, actor=staff[Role.ANALYST], unit_code="B01")
    body = api_for(staff[Role.ANALYST]).get("/api/tickets/?overdue=true").json()
    assert body["count"] == 1 and body["results"][0]["overdue"] is True


def test_list_does_not_grow_queries_with_rows(api_for, staff, make_ticket, customer, django_assert_max_num_queries):
    for _ in range(12):
        make_ticket(State.DISPATCHED, customer=customer)
    client = api_for(staff["unit_staff_b01"])
    # auth (user + profile via scope) + count + page; no per-row queries
    with django_assert_max_num_queries(4):
        response = client.get("/api/tickets/")
    assert response.json()["count"] == 12


def test_detail_query_count_is_fixed(api_for, staff, make_ticket, customer, django_assert_max_num_queries):
    ticket = make_ticket(State.REPLIED, customer=customer)
    client = api_for(staff[Role.ANALYST])
    with django_assert_max_num_queries(12):
        assert client.get(f"/api/tickets/{ticket.pk}/").status_code == 200
