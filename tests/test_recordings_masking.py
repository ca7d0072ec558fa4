"""A password step produces a masked segment: the IVR pauses the recording while it gathers the
phone-banking password (``ivr.selectors.secret_spans``), and the recording uploaded for the call
lists that span, relative to its start, as ``{"reason": "password"}``."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from calls.models import Call
from ivr.selectors import secret_spans
from ivr.tests.helpers import PHONE_PIN
from org.roles import Role
from tests.factories import make_staff
from tests.recordings_helpers import recordings_dir_fixture, upload, wav_pcm  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recordings_dir")]
pytest_plugins = ["ivr.tests.fixtures"]


def test_a_password_step_is_a_masked_segment_of_the_recording(caller, customer):
    call = caller()
    call.start()
    call.press("1")
    call.press(customer.card.number)  # → pause, enter_password
    call.press(PHONE_PIN)  # → resume, account menu
    [(paused, resumed)] = secret_spans(call.call_id)
    started = paused - timedelta(seconds=5)
    if not Call.objects.filter(call_id=call.call_id).exists():
        Call.objects.create(call_id=call.call_id, started_at=started)
    switch = APIClient()
    switch.force_authenticate(make_staff(Role.SWITCH))
    response = upload(switch, call.call_id, wav_pcm(60.0, rate=8000), started_at=started)
    assert response.status_code == 201, response.content
    start_ms = math.floor((paused - started).total_seconds() * 1000)
    end_ms = math.ceil((resumed - started).total_seconds() * 1000)
    assert response.json()["masked_segments"] == [{"start_ms": start_ms, "end_ms": end_ms, "reason": "password"}]
    assert start_ms == 5000 and end_ms > start_ms
