"""Pytest fixtures of the calls and agents tests: ``pytest_plugins = ["calls.tests.fixtures"]``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from agents.models import AgentSkill, AgentState, AgentStatus
from calls.models import Queue
from org.roles import Role
from tests.factories import make_staff

from .helpers import next_id


@pytest.fixture
def queues(db) -> dict[str, Queue]:
    """The default queues general, card, complaint (a data migration creates them; a transactional
    test starts from an emptied database, so they are ensured here)."""
    from agents.presence import presence_reset
    from calls.demo import ensure_default_queues

    presence_reset()  # ids repeat across tests: no desktop of an earlier test may count
    return ensure_default_queues()


@pytest.fixture
def make_agent(db, queues):
    """``make_agent("a1", skills={"general": 3}, state="ready", idle_for=30)`` → the user, with a
    desktop open unless ``desktop=False``."""

    def make(
        username: str | None = None,
        *,
        skills=None,
        state: str = AgentState.OFFLINE,
        idle_for: float = 0,
        extension: str = "",
        role: str = Role.AGENT,
        desktop: bool = True,
    ):
        user = make_staff(role, username=username or f"agent-{next_id()}")
        if desktop:  # the agent's desktop is open (agents.presence): routing may ring them
            from agents.presence import connection_opened

            connection_opened(user.pk, f"test-desktop-{user.pk}")
        if extension:
            user.profile.extension = extension
            user.profile.save()
        for code, level in (skills if skills is not None else {"general": 3}).items():
            AgentSkill.objects.create(agent=user, queue=queues[code], level=level)
        now = timezone.now()
        AgentStatus.objects.create(
            user=user,
            state=state,
            since=now - timedelta(seconds=idle_for),
            ready_since=now - timedelta(seconds=idle_for) if state == AgentState.READY else None,
            shift_started_at=now - timedelta(hours=1) if state != AgentState.OFFLINE else None,
        )
        return user

    return make


@pytest.fixture
def switch(db):
    user = make_staff(Role.SWITCH, username="cti-switch")
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def as_user():
    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``committed(fn, *args, **kwargs)``: run ``fn`` and then its on-commit work (routing, pushes)
    as if its transaction had committed (tests run inside one transaction)."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run
