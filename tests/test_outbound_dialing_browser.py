"""A preview campaign worked end to end in Chromium (issue 19): the agent sees the reserved
contact with the customer and the script, clicks 拨打; the test plays the switch — it holds
``/ws/switch/`` with its token, acknowledges the ``originate`` and answers it with CTI events;
the agent is connected at once, the customer hangs up, and the agent records the outcome.

The ASGI server, the browser and the login are the ones of ``tests/test_calls_browser.py``.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime

import pytest
from rest_framework.authtoken.models import Token

from agents.models import AgentSkill, AgentState, AgentStatus
from banking.models import Customer
from calls.demo import ensure_default_queues
from calls.outbound.models import AttemptStatus, CampaignContact, ContactStatus, DialAttempt
from org.roles import Role
from tests.factories import make_staff
from tests.outbound_dialing_helpers import make_campaign
from tests.test_calls_browser import SHOTS, asgi_server, browser, login  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def outbound_center(db, settings):
    from tests.factories_banking import phone_banking

    queues = ensure_default_queues()
    banking = phone_banking(card_fen=5_000_000, linked_fen=(100_000, 0), pin="123456")
    Customer.objects.filter(pk=banking.customer.pk).update(name="张伟", mobile="13800000001")
    agent = make_staff(Role.AGENT, username="agent01")
    AgentSkill.objects.create(agent=agent, queue=queues["general"], level=4)
    AgentStatus.objects.create(user=agent, state=AgentState.OFFLINE, since=datetime.now(UTC))
    switch = make_staff(Role.SWITCH, username="switch")
    campaign = make_campaign(
        queues["general"], mode="preview", name="理财产品回访", script="您好，我是信用社客服，打扰您一分钟…"
    )
    contact = CampaignContact.objects.create(
        campaign=campaign, phone="13800000001", name="张伟", customer_id=banking.customer.pk
    )
    return {"agent": agent, "token": Token.objects.create(user=switch).key, "contact": contact}


def _cti(base: str, token: str, body: dict) -> None:
    request = urllib.request.Request(  # noqa: S310 - our own test server
        base + "/api/cti/events/",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200


@pytest.fixture
def all_day(monkeypatch, settings):
    """Calling hours all day, here and in the server (its settings read the environment)."""
    monkeypatch.setenv("OUTBOUND_WINDOW", "00:00-23:59:59")
    settings.OUTBOUND_WINDOW = "00:00-23:59:59"


def test_a_preview_campaign_is_worked_end_to_end(all_day, browser, asgi_server, outbound_center):  # noqa: F811
    from websockets.sync.client import connect

    SHOTS.mkdir(parents=True, exist_ok=True)
    base, token = asgi_server, outbound_center["token"]
    ws_base = base.replace("http://", "ws://")
    context, page = login(browser, base, "agent01", "zh-hans")
    try:
        with connect(f"{ws_base}/ws/switch/?token={token}", open_timeout=10) as switch:
            page.wait_for_url(f"{base}/agent/desktop/")
            page.wait_for_selector("#link.link-up")
            page.click("#btn-ready")
            page.wait_for_selector("#state-badge.state-ready")
            page.wait_for_selector("#outbound-next", timeout=10_000)
            page.click("#outbound-next")
            page.wait_for_selector("#outbound-dial", timeout=10_000)
            card = page.locator("#outbound-contact").inner_text()
            assert "张伟" in card and "13800000001" in card and "理财产品回访" in card
            assert "打扰您一分钟" in page.locator("#outbound-script").inner_text()
            page.screenshot(path=str(SHOTS / "agent-desktop-outbound-preview-zh.png"))

            page.click("#outbound-dial")
            page.wait_for_selector("#outbound-dialing", timeout=10_000)  # reserved: the call panel says so
            command = json.loads(switch.recv(timeout=10))
            assert command["type"] == "originate" and command["number"] == "13800000001"
            assert command["agent"] == "agent01" and command["campaign"] == outbound_center["contact"].campaign.code
            switch.send(json.dumps({"type": "ack", "command_id": command["command_id"]}))
            call_id = "pbx-out-1"
            for type_ in ("dialing", "ringing", "answered"):
                _cti(
                    base,
                    token,
                    {
                        "event_id": f"{call_id}:{type_}",
                        "call_id": call_id,
                        "command_id": command["command_id"],
                        "type": type_,
                        "ts": datetime.now(UTC).isoformat(),
                    },
                )
            page.wait_for_selector("#state-badge.state-on_call", timeout=10_000)
            assert "13800000001" in page.locator("#outbound-status").inner_text()
            page.screenshot(path=str(SHOTS / "agent-desktop-outbound-call-zh.png"))
            _cti(
                base,
                token,
                {
                    "event_id": f"{call_id}:ended",
                    "call_id": call_id,
                    "command_id": command["command_id"],
                    "type": "ended",
                    "cause": "normal",
                    "ts": datetime.now(UTC).isoformat(),
                },
            )
            page.wait_for_selector("#outbound-outcome-form", timeout=10_000)
            page.select_option("#outbound-outcome", "interested")
            page.fill("#outbound-note", "想了解三年期理财")
            page.click("#outbound-record")
            page.wait_for_selector("#state-badge.state-ready", timeout=10_000)
            page.wait_for_selector("#outbound-next", timeout=10_000)

        attempt = DialAttempt.objects.get(command_id=command["command_id"])
        assert (attempt.status, attempt.outcome, attempt.note, attempt.sends) == (
            AttemptStatus.ENDED,
            "interested",
            "想了解三年期理财",
            1,
        )
        assert attempt.acknowledged_at is not None and attempt.call_id == call_id
        assert CampaignContact.objects.get(pk=outbound_center["contact"].pk).status == ContactStatus.DONE
    finally:
        context.close()
