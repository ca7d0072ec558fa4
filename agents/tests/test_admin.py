"""The maintainer edits skills in the admin through ``agent_skills_set`` (levels 1-5, call takers
only, every change audited with before and after); callbacks are read-only there."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import AgentSkill, Callback
from agents.services import callback_schedule
from audit.models import AuditEvent
from org.roles import Role
from tests.factories import make_staff

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def maintainer(client_for):
    user = make_staff(Role.MAINTAINER, username="maint-admin")
    return user, client_for(user)


def skills(agent) -> dict[str, int]:
    return {skill.queue.code: skill.level for skill in AgentSkill.objects.filter(agent=agent).select_related("queue")}


def audited(agent) -> list[tuple[str, dict]]:
    return [
        (event.actor_username, event.details)
        for event in AuditEvent.objects.filter(action="agents.skills_set", object_id=agent.username).order_by("pk")
    ]


def test_adding_changing_and_deleting_a_skill_goes_through_the_service(make_agent, maintainer, queues):
    user, client = maintainer
    agent = make_agent("skilled", skills={"general": 3})
    added = client.post("/admin/agents/agentskill/add/", {"agent": agent.pk, "queue": queues["card"].pk, "level": 4})
    assert added.status_code == 302, added.content
    assert skills(agent) == {"general": 3, "card": 4}
    card = AgentSkill.objects.get(agent=agent, queue=queues["card"])
    changed = client.post(f"/admin/agents/agentskill/{card.pk}/change/", {"level": 5})
    assert changed.status_code == 302, changed.content
    assert skills(agent) == {"general": 3, "card": 5}
    deleted = client.post(f"/admin/agents/agentskill/{card.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert skills(agent) == {"general": 3}
    assert audited(agent) == [
        ("maint-admin", {"before": {"general": 3}, "after": {"general": 3, "card": 4}}),
        ("maint-admin", {"before": {"general": 3, "card": 4}, "after": {"general": 3, "card": 5}}),
        ("maint-admin", {"before": {"general": 3, "card": 5}, "after": {"general": 3}}),
    ]


def test_a_level_out_of_range_or_a_user_who_takes_no_calls_is_refused(make_agent, maintainer, queues):
    _user, client = maintainer
    agent = make_agent("levelled", skills={"general": 3})
    general = AgentSkill.objects.get(agent=agent)
    assert client.post(f"/admin/agents/agentskill/{general.pk}/change/", {"level": 9}).status_code == 200  # the form
    analyst = make_staff(Role.ANALYST, username="no-calls")
    refused = client.post(
        "/admin/agents/agentskill/add/", {"agent": analyst.pk, "queue": queues["card"].pk, "level": 2}
    )
    assert refused.status_code == 200
    assert skills(agent) == {"general": 3} and not AgentSkill.objects.filter(agent=analyst).exists()
    assert not AuditEvent.objects.filter(action="agents.skills_set").exists()


def test_callbacks_are_read_only_in_the_admin(make_agent, maintainer):
    _user, client = maintainer
    agent = make_agent("promiser")
    callback = callback_schedule(
        actor=agent, phone="13800000007", queue="general", due_at=timezone.now() + timedelta(hours=1)
    )
    assert client.get(f"/admin/agents/callback/{callback.pk}/change/").status_code == 200  # view only
    client.post(f"/admin/agents/callback/{callback.pk}/change/", {"status": "done", "attempts": 3})
    assert client.post(f"/admin/agents/callback/{callback.pk}/delete/", {"post": "yes"}).status_code == 403
    stored = Callback.objects.get(pk=callback.pk)
    assert (stored.status, stored.attempts) == ("open", 0)
    assert client.get("/admin/agents/callback/add/").status_code == 403
