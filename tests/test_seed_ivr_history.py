"""The seeded history has an IVR side consistent with its call records and the founding figures:
most callers are served by the IVR, the rest go to an agent, and the IVR statistics show it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.demo import seed_call_history, seed_queues
from calls.models import Call
from ivr.models import IvrCall
from ivr.selectors import ivr_statistics
from org.roles import Role
from tests.factories import make_staff
from tests.factories_banking import CustomerFactory

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def history(queues):
    for n in range(1, 16):
        make_staff(Role.AGENT, username=f"agent{n:02d}")
    seed_queues()
    CustomerFactory.create_batch(30)
    return seed_call_history(7)


def test_every_inbound_history_call_has_its_ivr_call_and_no_other(history):
    inbound = set(Call.objects.filter(direction="inbound").values_list("call_id", flat=True))
    assert inbound and set(IvrCall.objects.values_list("call_id", flat=True)) == inbound
    assert not IvrCall.objects.filter(ended=False).exists()


def test_ivr_calls_that_went_to_an_agent_are_the_queued_calls_in_the_same_queue(history):
    queued = dict(
        Call.objects.filter(direction="inbound", queued_at__isnull=False).values_list("call_id", "queue__code")
    )
    to_agent = dict(IvrCall.objects.filter(outcome=IvrCall.Outcome.AGENT).values_list("call_id", "queue"))
    assert to_agent == queued
    for call in IvrCall.objects.filter(outcome=IvrCall.Outcome.AGENT).only("path", "started_at", "ended_at")[:200]:
        assert call.path[0] == "main" and call.path[-1] == "agent"
        assert call.started_at < call.ended_at
    # Where the call record has the IVR path, it is the IVR call's.
    paths = dict(IvrCall.objects.filter(outcome=IvrCall.Outcome.AGENT).values_list("call_id", "path"))
    for call_id, path in Call.objects.filter(call_id__in=list(paths)[:200]).values_list("call_id", "ivr_path"):
        assert path == paths[call_id]


def test_ivr_statistics_of_the_seeded_days_show_most_callers_self_served(history):
    today = timezone.localdate()
    stats = ivr_statistics(date_from=today - timedelta(days=7), date_to=today - timedelta(days=1))
    assert stats["calls"] == Call.objects.filter(direction="inbound").count()
    assert 0.5 < stats["containment"] < 0.62  # 45 % of callers ask for an agent
    visits = {row["node"]: row["visits"] for row in stats["nodes"]}
    assert visits["main"] >= stats["calls"]  # every call starts there; some come back to it
    assert visits["balance"] > visits["transfer"] > 0 and visits["info"] > 0 and visits["loss"] > 0
    assert stats["auth_failures"] > 0


def test_verified_ivr_calls_name_a_customer_and_unverified_ones_do_not(history):
    assert not IvrCall.objects.filter(verified=True, customer_id__isnull=True).exists()
    assert not IvrCall.objects.filter(verified=False, customer_id__isnull=False).exists()
    assert any("balance" in path for path in IvrCall.objects.filter(verified=True).values_list("path", flat=True))
