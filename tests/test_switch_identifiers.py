"""Call ids and caller numbers as real switches send them, accepted by the IVR's switch API and the
CTI API alike (one rule: ``core.api.telephony``), kept as sent, looked up by their digits;
anything else a 400 naming the field — in a body or in a URL path."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone

from calls.models import Call
from calls.tests.helpers import event
from core.api.telephony import ani_digits
from ivr.models import IvrCall

pytest_plugins = ["ivr.tests.fixtures", "calls.tests.fixtures"]
pytestmark = pytest.mark.django_db

REAL_CALL_IDS = [
    "1700000000.123",  # Asterisk ${UNIQUEID}
    "7f7bed36-d03e-43e9-9d78-3bfad663cdb5",  # FreeSWITCH ${uuid}
    "a84b4c76e66710@pc33.atlanta.example.com",  # a SIP Call-ID
    "GW1+chan=7~leg:2;x'y(z)!$*,",  # vendor ids
    "x" * 128,
]
BAD_CALL_IDS = ["", "a b", "x" * 129, "a/b", "调用", "a\tb", "a\x7fb", "é"]
REAL_ANIS = [
    ("13800000001", "13800000001"),
    ("+8613800000001", "13800000001"),
    ("sip:+8613800000001@10.0.0.1;user=phone", "13800000001"),
    ("sips:13800000001@gw.example.cn:5061", "13800000001"),
    ("tel:+86-138-0000-0001", "13800000001"),
    ("tel:+86-22-1234-5678;phone-context=+86", "02212345678"),
    ("008613800000001", "13800000001"),
    ('"Zhang Wei" <sip:13800000001@10.0.0.1>;tag=9', "13800000001"),
    ("sip:%2B8613800000001@10.0.0.1", "13800000001"),
    ("02212345678", "02212345678"),
    ("sip:" + "9" * 11 + "@" + "h" * 239, "9" * 11),  # 255 characters
    ("anonymous", ""),
    ("", ""),
]


def path_of(call_id: str) -> str:
    return quote(call_id, safe="")


@pytest.mark.parametrize("call_id", REAL_CALL_IDS)
def test_the_ivr_takes_the_call_ids_switches_use_in_the_body_and_the_urls(switch_client, ivr_menu, call_id):
    started = switch_client.post("/api/ivr/calls/", {"call_id": call_id, "ani": "1", "dnis": "96"}, format="json")
    assert started.status_code == 201, started.content
    assert started.json()["call_id"] == call_id
    step = switch_client.post(
        f"/api/ivr/calls/{path_of(call_id)}/events/", {"seq": 1, "type": "digits", "digits": "3"}, format="json"
    )
    assert step.status_code == 200, step.content
    assert switch_client.get(f"/api/ivr/calls/{path_of(call_id)}/vxml").status_code == 200
    assert IvrCall.objects.get(call_id=call_id).last_seq == 1


@pytest.mark.parametrize("call_id", BAD_CALL_IDS)
def test_a_malformed_call_id_is_a_400_naming_the_field_in_the_ivr_body(switch_client, ivr_menu, call_id):
    response = switch_client.post("/api/ivr/calls/", {"call_id": call_id, "ani": "1"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_call_id" and "call_id" in error["fields"]
    assert not IvrCall.objects.exists()


@pytest.mark.parametrize("call_id", ["x" * 129, "a\x7fb", "é", "a b"])
def test_a_malformed_call_id_in_a_url_path_is_a_400_naming_the_field(switch_client, switch, ivr_menu, call_id):
    for response in (
        switch_client.post(f"/api/ivr/calls/{path_of(call_id)}/events/", {"seq": 1, "type": "timeout"}, format="json"),
        switch_client.get(f"/api/ivr/calls/{path_of(call_id)}/vxml"),
        switch.get(f"/api/calls/{path_of(call_id)}/"),
        switch.post(f"/api/calls/{path_of(call_id)}/callback/", {}, format="json"),
    ):
        assert response.status_code == 400, (response.status_code, response.content)
        assert response["Content-Type"].startswith("application/json")
        error = response.json()["error"]
        assert error["code"] == "invalid_call_id" and "call_id" in error["fields"]


def test_an_unknown_but_well_formed_call_id_in_a_path_is_still_404(switch_client, switch, ivr_menu):
    assert switch_client.get("/api/ivr/calls/1700000000.999/vxml").json()["error"]["code"] == "call_not_found"
    assert switch.get("/api/calls/1700000000.999/").status_code == 404


@pytest.mark.parametrize(("ani", "digits"), REAL_ANIS)
def test_ani_digits_normalises_numbers_and_uris_for_look_ups(ani, digits):
    assert ani_digits(ani) == digits


@pytest.mark.parametrize(("ani", "_digits"), [pair for pair in REAL_ANIS if pair[0]])
def test_the_ivr_keeps_the_ani_as_sent(switch_client, ivr_menu, ani, _digits):
    response = switch_client.post("/api/ivr/calls/", {"call_id": "ani-1", "ani": ani, "dnis": "96"}, format="json")
    assert response.status_code == 201, response.content
    assert IvrCall.objects.get(call_id="ani-1").ani == ani


@pytest.mark.parametrize("ani", ["1" * 256, "sip:1@h\x00", "tel:1\n", "张伟", "a\x7f"])
def test_a_malformed_ani_is_a_400_naming_the_field(switch_client, switch, ivr_menu, ani):
    response = switch_client.post("/api/ivr/calls/", {"call_id": "ani-bad", "ani": ani}, format="json")
    assert response.status_code == 400 and "ani" in response.json()["error"]["fields"], response.content
    body = event("ani-bad", "offered", timezone.now() - timedelta(seconds=5), ani=ani)
    cti = switch.post("/api/cti/events/", body, format="json")
    # CTI answers a refused event with its code (and, in a batch, per event): the code names it.
    assert cti.status_code == 400, cti.content
    error = cti.json()["error"]
    # A NUL is refused before the fields parse, by the API's edge rule (core.api.validation).
    assert error["code"] == "invalid_ani" and error["message"].startswith("ani") or "\x00" in ani, error
    assert not IvrCall.objects.exists() and not Call.objects.exists()


@pytest.mark.parametrize("call_id", REAL_CALL_IDS)
def test_cti_events_take_the_same_call_ids_and_sip_anis(switch, queues, call_id):
    ani = "sip:+8613800000001@10.0.0.1;user=phone"
    now = timezone.now()
    body = [
        event(call_id, "offered", now - timedelta(seconds=30), ani=ani, dnis="96123"),
        event(call_id, "queued", now - timedelta(seconds=20), queue="general"),
    ]
    response = switch.post("/api/cti/events/", body, format="json")
    assert response.status_code in (200, 201, 207), response.content
    call = Call.objects.get(call_id=call_id)
    assert call.ani == ani and call.state == "queued"
    status = switch.get(f"/api/calls/{path_of(call_id)}/")
    assert status.status_code == 200 and status.json()["state"] == "queued"


@pytest.mark.parametrize("call_id", BAD_CALL_IDS)
def test_cti_refuses_a_malformed_call_id_naming_the_field(switch, queues, call_id):
    body = event(call_id, "offered", timezone.now() - timedelta(seconds=5))
    response = switch.post("/api/cti/events/", body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_call_id" and error["message"].startswith("call_id"), error
    assert not Call.objects.exists()


def test_a_caller_sending_a_sip_uri_is_recognised_by_the_digits_of_its_number(switch, queues, make_agent, as_user):
    from calls.selectors import call_get, customer_context
    from tests.factories_banking import CustomerFactory

    customer = CustomerFactory(mobile="13800000777")
    agent = make_agent("sip-agent")
    now = timezone.now()
    uri = "sip:+8613800000777@10.1.1.1;user=phone"
    switch.post(
        "/api/cti/events/", [event("sip-call-1", "offered", now - timedelta(seconds=9), ani=uri)], format="json"
    )
    context = customer_context(call_get("sip-call-1"), user=agent)
    assert context is not None and context["id"] == customer.pk and context["match"] == "ani"


def test_a_callback_accepted_by_a_sip_caller_dials_back_the_number_not_the_uri(switch, queues):
    from calls.services.routing import call_callback_offer

    now = timezone.now()
    uri = "sip:+8613800000778@10.1.1.1;user=phone"
    switch.post(
        "/api/cti/events/",
        [
            event("sip-cb-1", "offered", now - timedelta(seconds=90), ani=uri),
            event("sip-cb-1", "queued", now - timedelta(seconds=80), queue="general"),
        ],
        format="json",
    )
    assert call_callback_offer(call_pk=Call.objects.get(call_id="sip-cb-1").pk)
    response = switch.post("/api/calls/sip-cb-1/callback/", {}, format="json")
    assert response.status_code in (200, 201), response.content
    from agents.models import Callback

    assert Callback.objects.get(call__call_id="sip-cb-1").phone == "13800000778"


def test_the_called_number_takes_the_same_forms_as_the_caller(switch_client, switch, ivr_menu, queues):
    dnis = "sip:96123@cc.example.cn:5060;transport=udp"  # VoiceXML's session.connection.local.uri
    body = {"call_id": "dnis-1", "ani": "sip:+8613800000001@10.0.0.1;user=phone", "dnis": dnis}
    assert switch_client.post("/api/ivr/calls/", body, format="json").status_code == 201
    assert IvrCall.objects.get(call_id="dnis-1").dnis == dnis
    bad = switch_client.post("/api/ivr/calls/", {**body, "call_id": "dnis-2", "dnis": "9" * 256}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_dnis"
    assert "dnis" in bad.json()["error"]["fields"]
    cti = switch.post("/api/cti/events/", event("dnis-3", "offered", timezone.now(), dnis=dnis), format="json")
    assert cti.status_code == 200 and Call.objects.get(call_id="dnis-3").dnis == dnis


def test_a_long_call_id_is_kept_whole_on_the_banking_rows_its_call_writes(switch_client, ivr_menu, customer, api_for):
    """A SIP Call-ID of 128 characters names the ledger transaction, the loss report and their
    events in full (they are found by it), from the IVR and from the agent's desktop alike."""
    from banking.models import AccountEvent, LedgerTransaction, LossReport
    from ivr.tests.helpers import PHONE_PIN, Caller
    from org.roles import Role
    from tests.factories import make_staff

    call_id = "a" * 100 + "@pc33.atlanta.example.com;tag=1"[: 128 - 100]
    assert len(call_id) == 128
    call = Caller(switch_client, call_id=call_id)
    call.start()
    call.login(customer.card.number, PHONE_PIN)
    call.press("4"), call.press("01"), call.press("10")
    assert "transfer_done" in [a.get("prompt") for a in call.press("1")], call.actions
    assert LedgerTransaction.objects.get(kind="transfer").call_id == call_id
    agent = make_staff(Role.AGENT, username="long-id-agent")
    body = {"account": customer.linked[0].pk, "verification": "id_document", "call_id": call_id}
    response = api_for(agent).post("/api/banking/loss-reports/", body, format="json")
    assert response.status_code == 201, response.content
    assert LossReport.objects.get().call_id == call_id
    assert AccountEvent.objects.filter(call_id=call_id).exists()
