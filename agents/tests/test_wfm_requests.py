"""Agents' swap and leave requests on a published roster: the colleague agrees, a team lead
approves with the rules re-checked by the validator, every step audited; a request that would
break a rule is refused with the rules named."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import Leave, Roster, RosterAssignment, ShiftRequest
from audit.models import AuditEvent
from org.roles import Role
from tests.factories import make_staff

pytestmark = pytest.mark.django_db

SHIFTS = [{"code": "D", "start": "08:00", "end": "20:00"}, {"code": "N", "start": "20:00", "end": "08:00"}]
# A legal week, one on days and one on nights every day (a doubles day 4, e day 2):
PLAN = {
    "a": {0: "D", 1: "D", 2: "D", 4: "D"},
    "b": {0: "N", 1: "N", 2: "N", 5: "D", 6: "N"},
    "c": {3: "D", 4: "D", 5: "D", 6: "D"},
    "d": {3: "N", 4: "N", 5: "N"},
    "e": {2: "D"},
}


@pytest.fixture
def week(settings):
    settings.WFM = {"MIN_STAFF": 1}
    people = {name: make_staff(Role.AGENT, username=f"agent_{name}") for name in PLAN}
    start = timezone.localdate() + timedelta(days=2)
    roster = Roster.objects.create(
        start=start,
        days=7,
        status="done",
        shifts=SHIFTS,
        requirement=[[1] * 48 for _ in range(7)],
        published_at=timezone.now(),
    )
    RosterAssignment.objects.bulk_create(
        RosterAssignment(roster=roster, agent=people[name], date=start + timedelta(days=d), shift_code=code)
        for name, days in PLAN.items()
        for d, code in days.items()
    )
    return {"roster": roster, "start": start, "lead": make_staff(Role.TEAM_LEAD, username="lead_x"), **people}


def _shift(week, name: str, day: int) -> str | None:
    row = RosterAssignment.objects.filter(
        roster=week["roster"], agent=week[name], date=week["start"] + timedelta(days=day)
    ).first()
    return row.shift_code if row else None


def test_a_swap_agreed_and_approved_changes_the_roster_and_is_audited(week, api_for):
    day = (week["start"] + timedelta(days=1)).isoformat()
    made = api_for(week["a"]).post(
        "/api/wfm/requests/", {"kind": "swap", "colleague": "agent_c", "date": day, "note": "家里有事"}, format="json"
    )
    assert made.status_code == 201, made.json()
    request_id = made.json()["id"]
    assert made.json()["status"] == "awaiting_colleague"
    # nobody but the colleague answers; the lead cannot approve before the colleague agrees
    assert api_for(week["d"]).post(f"/api/wfm/requests/{request_id}/accept/").json()["error"]["code"] == (
        "not_your_request"
    )
    early = api_for(week["lead"]).post(f"/api/wfm/requests/{request_id}/approve/", {}, format="json")
    assert early.status_code == 409 and early.json()["error"]["code"] == "request_not_open"
    assert api_for(week["c"]).post(f"/api/wfm/requests/{request_id}/accept/").json()["status"] == "pending"
    assert _shift(week, "a", 1) == "D" and _shift(week, "c", 1) is None  # nothing moves before approval
    approved = api_for(week["lead"]).post(f"/api/wfm/requests/{request_id}/approve/", {}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert _shift(week, "a", 1) is None and _shift(week, "c", 1) == "D"
    actions = list(AuditEvent.objects.filter(object_type="shiftrequest").values_list("action", flat=True))
    assert {"wfm.swap_requested", "wfm.swap_accepted", "wfm.request_approved"} <= set(actions)
    assert AuditEvent.objects.filter(action="wfm.shift_swapped").count() == 1
    # decided once
    again = api_for(week["lead"]).post(f"/api/wfm/requests/{request_id}/approve/", {}, format="json")
    assert again.json()["error"]["code"] == "request_not_open"


def test_a_swap_that_breaks_a_rule_is_refused_with_the_rules(week, api_for):
    # b works nights 0–2: c's day shift on day 3 would follow the night block at once
    day = (week["start"] + timedelta(days=3)).isoformat()
    refused = api_for(week["b"]).post(
        "/api/wfm/requests/", {"kind": "swap", "colleague": "agent_c", "date": day}, format="json"
    )
    assert refused.status_code == 409
    body = refused.json()["error"]
    assert body["code"] == "swap_breaks_rule"
    assert {"no_day_after_night", "rest_after_nights"} <= set(body["details"]["rules"])
    assert not ShiftRequest.objects.exists()


def test_the_rules_are_checked_again_when_the_lead_decides(week, api_for):
    day = week["start"] + timedelta(days=1)
    request_id = (
        api_for(week["a"])
        .post("/api/wfm/requests/", {"kind": "swap", "colleague": "agent_c", "date": day.isoformat()}, format="json")
        .json()["id"]
    )
    api_for(week["c"]).post(f"/api/wfm/requests/{request_id}/accept/")
    # meanwhile the roster changed: c now works nights 0 and 1 — a day shift on day 1 after a night
    RosterAssignment.objects.create(roster=week["roster"], agent=week["c"], date=week["start"], shift_code="N")
    refused = api_for(week["lead"]).post(f"/api/wfm/requests/{request_id}/approve/", {}, format="json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "swap_breaks_rule"
    assert ShiftRequest.objects.get(pk=request_id).status == "pending"
    assert _shift(week, "a", 1) == "D"
    # a rejection needs a reason
    no_reason = api_for(week["lead"]).post(f"/api/wfm/requests/{request_id}/reject/", {}, format="json")
    assert no_reason.status_code == 422 and no_reason.json()["error"]["code"] == "reason_required"
    rejected = api_for(week["lead"]).post(
        f"/api/wfm/requests/{request_id}/reject/", {"note": "排班已变"}, format="json"
    )
    assert rejected.json()["status"] == "rejected" and rejected.json()["decision_note"] == "排班已变"


def test_leave_takes_the_shifts_out_and_a_gap_needs_the_lead_to_force_it(week, api_for):
    day2 = (week["start"] + timedelta(days=2)).isoformat()
    # e doubles day 2: their leave leaves the day covered
    easy = (
        api_for(week["e"])
        .post(
            "/api/wfm/requests/",
            {"kind": "leave", "leave_kind": "annual", "date_from": day2, "date_to": day2},
            format="json",
        )
        .json()
    )
    assert easy["status"] == "pending"
    ok = api_for(week["lead"]).post(f"/api/wfm/requests/{easy['id']}/approve/", {}, format="json")
    assert ok.status_code == 200, ok.json()
    assert _shift(week, "e", 2) is None
    assert Leave.objects.filter(agent=week["e"], date_from=week["start"] + timedelta(days=2)).exists()
    # a's days 0–1 are covered by a alone: leave would open a gap
    day0, day1 = week["start"].isoformat(), (week["start"] + timedelta(days=1)).isoformat()
    gap = (
        api_for(week["a"])
        .post(
            "/api/wfm/requests/",
            {"kind": "leave", "leave_kind": "sick", "date_from": day0, "date_to": day1, "note": "发烧"},
            format="json",
        )
        .json()
    )
    refused = api_for(week["lead"]).post(f"/api/wfm/requests/{gap['id']}/approve/", {}, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"]["details"]["rules"] == ["coverage_floor"]
    assert _shift(week, "a", 0) == "D"
    forced = api_for(week["lead"]).post(
        f"/api/wfm/requests/{gap['id']}/approve/", {"force": True, "note": "病假，另找人顶班"}, format="json"
    )
    assert forced.status_code == 200
    assert _shift(week, "a", 0) is None and _shift(week, "a", 1) is None
    event = AuditEvent.objects.get(action="wfm.request_approved", object_id=str(gap["id"]))
    assert event.details["rules_broken"] == ["coverage_floor"]
    assert len(event.details["removed_shifts"]) == 2


@pytest.mark.parametrize(
    "body, field, code",
    [
        ({"kind": "swap", "colleague": "agent_c"}, "date", None),
        ({"kind": "swap", "colleague": "nobody", "date": "2099-01-01"}, "colleague", None),
        (
            {"kind": "leave", "leave_kind": "annual", "date_from": "2020-01-01", "date_to": "2020-01-02"},
            None,
            "too_late",
        ),
        (
            {"kind": "leave", "leave_kind": "annual", "date_from": "2099-01-02", "date_to": "2099-01-01"},
            None,
            "dates_reversed",
        ),
        (
            {"kind": "leave", "leave_kind": "annual", "date_from": "2099-01-01", "date_to": "2099-06-01"},
            None,
            "too_long",
        ),
        ({"kind": "holiday"}, "kind", None),
        ({"kind": "swap", "colleague": "agent_c", "date": "2099-01-01", "extra": 1}, "extra", None),
    ],
)
def test_bad_requests_are_refused_with_a_code(week, api_for, body, field, code):
    answer = api_for(week["a"]).post("/api/wfm/requests/", body, format="json")
    assert 400 <= answer.status_code < 500
    error = answer.json()["error"]
    if field:
        assert field in error["fields"]
    if code:
        assert error["code"] == code


def test_who_sees_and_who_may_act(week, api_for):
    far = (week["start"] + timedelta(days=20)).isoformat()
    mine = (
        api_for(week["a"])
        .post(
            "/api/wfm/requests/",
            {"kind": "leave", "leave_kind": "annual", "date_from": far, "date_to": far},
            format="json",
        )
        .json()
    )
    assert [r["id"] for r in api_for(week["a"]).get("/api/wfm/requests/").json()["results"]] == [mine["id"]]
    assert api_for(week["c"]).get("/api/wfm/requests/").json()["results"] == []
    assert [r["id"] for r in api_for(week["lead"]).get("/api/wfm/requests/", {"status": "pending"}).json()["results"]]
    # only the requester withdraws; agents do not approve; leads do not request
    assert api_for(week["c"]).post(f"/api/wfm/requests/{mine['id']}/cancel/").status_code == 403
    assert api_for(week["c"]).post(f"/api/wfm/requests/{mine['id']}/approve/", {}, format="json").status_code == 403
    assert api_for(week["lead"]).post("/api/wfm/requests/", {"kind": "leave"}, format="json").status_code == 403
    assert api_for(week["a"]).post(f"/api/wfm/requests/{mine['id']}/cancel/").json()["status"] == "cancelled"
    assert api_for(week["a"]).post("/api/wfm/requests/999999/cancel/").status_code == 404


def test_pages_carry_the_requests_from_ask_to_decision(week, client_for):
    day = (week["start"] + timedelta(days=1)).isoformat()
    page = client_for(week["a"]).get("/agent/wfm/my-shifts/")
    assert page.status_code == 200
    assert page.content.decode().count('class="shift-day') == 14
    posted = client_for(week["a"]).post(
        "/agent/wfm/my-shifts/", {"kind": "swap", "date": day, "colleague": "agent_c", "note": "换班"}, follow=True
    )
    assert posted.status_code == 200
    item = ShiftRequest.objects.get()
    assert item.status == "awaiting_colleague"
    panel = client_for(week["c"]).get("/agent/wfm/my-shifts/panel/").content.decode()
    assert "/agent/wfm/my-shifts/" in panel and "notice" in panel  # c is asked
    client_for(week["c"]).post("/agent/wfm/my-shifts/", {"action": "accept", "request": str(item.pk)})
    lead_page = client_for(week["lead"]).get("/agent/wfm/requests/").content.decode()
    assert "换班" in lead_page
    client_for(week["lead"]).post("/agent/wfm/requests/", {"action": "approve", "request": str(item.pk)})
    item.refresh_from_db()
    assert item.status == "approved" and _shift(week, "c", 1) == "D"
    # a refusal is a message on the page, not an error page
    refused = client_for(week["b"]).post(
        "/agent/wfm/my-shifts/",
        {"kind": "swap", "date": (week["start"] + timedelta(days=3)).isoformat(), "colleague": "agent_c"},
        follow=True,
    )
    assert refused.status_code == 200 and ShiftRequest.objects.count() == 1
    assert [str(m) for m in refused.context["messages"]]
    # agents do not reach the lead's queue
    assert client_for(week["a"]).get("/agent/wfm/requests/").status_code == 403


def test_a_published_roster_is_checked_with_the_shifts_it_was_solved_with(week, api_for):
    """The templates changed (or are gone) since the roster was published: its swaps are still
    checked with its own shifts (the night flag read off their times)."""
    from agents.models import ShiftTemplate

    ShiftTemplate.objects.all().delete()
    day = (week["start"] + timedelta(days=3)).isoformat()
    refused = api_for(week["b"]).post(
        "/api/wfm/requests/", {"kind": "swap", "colleague": "agent_c", "date": day}, format="json"
    )
    assert refused.status_code == 409
    assert "no_day_after_night" in refused.json()["error"]["details"]["rules"]
    ok = api_for(week["a"]).post(
        "/api/wfm/requests/",
        {"kind": "swap", "colleague": "agent_c", "date": (week["start"] + timedelta(days=1)).isoformat()},
        format="json",
    )
    assert ok.status_code == 201, ok.json()
