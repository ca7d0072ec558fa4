"""Who hears which recording (calls/recordings/access.py): the matrix per role and unit, through
the API (list, detail, audio). Out of scope is 404, never 403."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from banking.risk.models import Alert
from calls.recordings import access
from calls.recordings.models import Recording
from org.roles import Role
from tests.factories import UnitFactory, make_staff
from tests.recordings_helpers import make_call, recordings_dir_fixture, upload, wav_pcm  # noqa: F401
from tickets.models import State, Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recordings_dir")]


def client_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def world(db):
    """Four recordings: agent A's call with a B01 work order, agent A's call with none, agent B's
    call with a B02 work order, agent B's call linked to a risk alert."""
    DUE = {"dispatched_at": timezone.now(), "due_at": timezone.now() + timedelta(days=5)}
    b01, b02 = UnitFactory(code="B01"), UnitFactory(code="B02")
    users = {
        "agent_a": make_staff(Role.AGENT, username="agent-a"),
        "agent_b": make_staff(Role.AGENT, username="agent-b"),
        "lead": make_staff(Role.TEAM_LEAD),
        "director": make_staff(Role.DIRECTOR),
        "maintainer": make_staff(Role.MAINTAINER),
        "analyst": make_staff(Role.ANALYST),
        "risk": make_staff(Role.RISK_OFFICER),
        "branch01": make_staff(Role.UNIT_STAFF, unit=b01),
        "branch02": make_staff(Role.UNIT_STAFF, unit=b02),
        "switch": make_staff(Role.SWITCH),
    }
    switch = client_as(users["switch"])
    recs = {}
    for name, agent, seconds in [
        ("a_b01", users["agent_a"], 1.0),
        ("a_none", users["agent_a"], 1.1),
        ("b_b02", users["agent_b"], 1.2),
        ("b_risk", users["agent_b"], 1.3),
    ]:
        make_call(name, agent=agent)
        response = upload(switch, name, wav_pcm(seconds))
        assert response.status_code == 201
        recs[name] = Recording.objects.get(pk=response.json()["id"])
    Ticket.objects.create(
        kind="complaint", category="fees", description="x", call_id="a_b01", unit=b01, state=State.DISPATCHED, **DUE
    )
    Ticket.objects.create(
        kind="complaint", category="fees", description="y", call_id="b_b02", unit=b02, state=State.DISPATCHED, **DUE
    )
    # A contact not dispatched to any unit is no work order.
    Ticket.objects.create(kind="consultation", category="other", description="z", call_id="a_none")
    Alert.objects.create(rule=Alert.Rule.AGENT_REPORT, dedupe_key="agent_report:b_risk", call_id="b_risk")
    return users, recs


EXPECTED = {
    "agent_a": {"a_b01", "a_none"},
    "agent_b": {"b_b02", "b_risk"},
    "lead": {"a_b01", "a_none", "b_b02", "b_risk"},
    "director": {"a_b01", "a_none", "b_b02", "b_risk"},
    "maintainer": {"a_b01", "a_none", "b_b02", "b_risk"},
    "analyst": {"a_b01", "b_b02"},
    "risk": {"b_risk"},
    "branch01": {"a_b01"},
    "branch02": {"b_b02"},
}


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_access_matrix(world, who):
    users, recs = world
    user = users[who]
    client = client_as(user)
    listed = {row["call_id"] for row in client.get("/api/recordings/", {"page_size": 100}).json()["results"]}
    assert listed == EXPECTED[who]
    for name, rec in recs.items():
        allowed = name in EXPECTED[who]
        assert access.can_play(user, rec) is allowed
        detail = client.get(f"/api/recordings/{rec.pk}/")
        audio = client.get(f"/api/recordings/{rec.pk}/audio/", HTTP_RANGE="bytes=0-9")
        if allowed:
            assert (detail.status_code, audio.status_code) == (200, 206)
        else:
            assert (detail.status_code, audio.status_code) == (404, 404)  # not 403: it does not exist for them
            assert audio.json()["error"]["code"] == "recording_not_found"


def test_the_switch_reads_nothing(world):
    users, recs = world
    client = client_as(users["switch"])
    assert client.get("/api/recordings/").status_code == 403
    assert client.get(f"/api/recordings/{recs['a_b01'].pk}/audio/").status_code == 403


def test_anonymous_is_refused(world):
    _users, recs = world
    assert APIClient().get(f"/api/recordings/{recs['a_b01'].pk}/audio/").status_code == 401


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("director", True),
        ("maintainer", True),
        ("lead", True),
        ("agent_a", False),
        ("analyst", False),
        ("branch01", False),
    ],
)
def test_download_roles(world, who, allowed):
    users, recs = world
    response = client_as(users[who]).get(f"/api/recordings/{recs['a_b01'].pk}/download/")
    assert response.status_code == (200 if allowed else 403)
    assert access.can_download(users[who], recs["a_b01"]) is allowed


def test_download_out_of_scope_is_404(world):
    users, recs = world
    response = client_as(users["branch01"]).get(f"/api/recordings/{recs['b_b02'].pk}/download/")
    assert response.status_code == 404


def test_has_ticket_filter(world):
    users, _recs = world
    lead = client_as(users["lead"])
    with_ticket = {r["call_id"] for r in lead.get("/api/recordings/", {"has_ticket": "true"}).json()["results"]}
    without = {r["call_id"] for r in lead.get("/api/recordings/", {"has_ticket": "false"}).json()["results"]}
    assert with_ticket == {"a_b01", "a_none", "b_b02"}
    assert without == {"b_risk"}
