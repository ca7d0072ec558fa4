"""The switch's IVR API: bad input is a clear 4xx with a code and changes nothing; retries are
safe; VoiceXML is well-formed 2.1; passwords are never stored or logged."""

import json
import logging
import uuid
import xml.etree.ElementTree as ET  # noqa: S405 - parsing our own output

import pytest
from django.core import serializers
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.models import AuditEvent
from ivr.models import IvrCall, IvrEvent
from ivr.tests.helpers import PHONE_PIN, Caller, prompts, said
from org.roles import Role
from tests.factories import make_staff
from tests.factories_banking import WITHDRAWAL_PIN

pytestmark = pytest.mark.django_db
pytest_plugins = ["ivr.tests.fixtures"]

VXML = "{http://www.w3.org/2001/vxml}"


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    return error


def snapshot(call_id: str) -> str:
    """Everything stored about a call, to prove a refused request changed nothing."""
    call = IvrCall.objects.get(call_id=call_id)
    events = IvrEvent.objects.filter(call=call).order_by("seq")
    return serializers.serialize("json", [call, *events])


@pytest.fixture
def started(caller):
    call = caller()
    call.start()
    call.press("3")  # info menu
    return call


def test_unknown_call_id_is_404_call_not_found(switch_client, ivr_menu):
    response = switch_client.post("/api/ivr/calls/nope/events/", {"seq": 1, "type": "timeout"}, format="json")
    assert_error(response, 404, "call_not_found")
    assert_error(switch_client.get("/api/ivr/calls/nope/vxml"), 404, "call_not_found")


def test_events_after_hangup_are_409_call_ended(started):
    started.hangup()
    before = snapshot(started.call_id)
    assert_error(started.send("digits", "1"), 409, "call_ended")
    assert_error(started.send("hangup"), 409, "call_ended")
    assert snapshot(started.call_id) == before


def test_events_after_a_transfer_to_an_agent_are_409_call_ended(started):
    started.press("*"), started.press("0")
    assert_error(started.send("digits", "1"), 409, "call_ended")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"type": "digits", "digits": "1a"}, "invalid_digits"),
        ({"type": "digits", "digits": "12#"}, "invalid_digits"),
        ({"type": "digits", "digits": "1" * 200}, "invalid_digits"),
        ({"type": "digits", "digits": "1" * 33}, "invalid_digits"),
        ({"type": "digits", "digits": 1}, "invalid_digits"),
        ({"type": "digits", "digits": "１"}, "invalid_digits"),  # full-width digit
        ({"type": "timeout", "digits": "1"}, "invalid_digits"),
        ({"type": "digits", "digits": "1", "seq": None}, "seq_required"),
        ({"type": "digits", "digits": "1", "seq": "x"}, "invalid_seq"),
        ({"type": "digits", "digits": "1", "seq": 0}, "invalid_seq"),
        ({"type": "digits", "digits": "1", "seq": -3}, "invalid_seq"),
        ({"type": "digits", "digits": "1", "seq": True}, "invalid_seq"),
        ({"type": "digits", "digits": "1", "seq": "١"}, "invalid_seq"),  # ASCII digits only
        ({"type": "digits", "digits": "1", "seq": "2 "}, "invalid_seq"),
        ({"type": "press", "digits": "1"}, "invalid_event_type"),
        ({"type": "digits", "digits": "1", "sequence": 2}, "unknown_field"),
    ],
)
def test_bad_event_input_is_400_with_a_code_and_changes_nothing(started, body, code):
    body = {"seq": started.seq + 1, **body}
    if body.get("seq") is None:
        del body["seq"]
    before = snapshot(started.call_id)
    response = started.client.post(f"/api/ivr/calls/{started.call_id}/events/", body, format="json")
    assert_error(response, 400, code)
    assert snapshot(started.call_id) == before


def test_missing_seq_is_400_seq_required(started):
    response = started.client.post(
        f"/api/ivr/calls/{started.call_id}/events/", {"type": "digits", "digits": "1"}, format="json"
    )
    assert_error(response, 400, "seq_required")


def test_seq_going_backwards_is_409_and_changes_nothing(started):
    started.press("1")  # seq 2: deposit rates
    before = snapshot(started.call_id)
    assert_error(started.send("digits", "3", seq=1), 409, "seq_out_of_order")  # as first sent
    assert_error(started.send("digits", "2", seq=1), 409, "seq_out_of_order")
    assert snapshot(started.call_id) == before


def test_a_seq_gap_is_409_seq_out_of_order(started):
    before = snapshot(started.call_id)
    assert_error(started.send("digits", "1", seq=started.seq + 2), 409, "seq_out_of_order")
    assert snapshot(started.call_id) == before


def test_a_repeated_last_seq_returns_its_stored_response_and_executes_nothing(started):
    second = started.press("1")
    before = snapshot(started.call_id)
    assert started.send("digits", "1", seq=2).json()["actions"] == second
    # Even with other keys: a seq already seen is answered from the log, never executed again.
    assert started.send("digits", "2", seq=2).json()["actions"] == second
    assert started.send("timeout", seq=2).json()["actions"] == second
    assert snapshot(started.call_id) == before


def test_a_repeated_start_returns_the_first_response_and_a_different_one_is_409(switch_client, ivr_menu):
    body = {"call_id": "dup-1", "ani": "13900000001", "dnis": "96xxx"}
    first = switch_client.post("/api/ivr/calls/", body, format="json")
    again = switch_client.post("/api/ivr/calls/", body, format="json")
    assert first.status_code == 201 and again.status_code == 200 and again.json() == first.json()
    other = switch_client.post("/api/ivr/calls/", {**body, "ani": "13900000002"}, format="json")
    assert_error(other, 409, "call_exists")
    assert IvrCall.objects.filter(call_id="dup-1").count() == 1


@pytest.mark.parametrize("call_id", ["", "a b", "x" * 129, "../etc", "调用", "a\tb", "é"])
def test_a_malformed_call_id_is_400_invalid_call_id(switch_client, ivr_menu, call_id):
    response = switch_client.post("/api/ivr/calls/", {"call_id": call_id}, format="json")
    assert_error(response, 400, "invalid_call_id")
    assert not IvrCall.objects.exists()


def test_without_a_published_menu_a_call_is_409_no_published_menu(switch_client):
    response = switch_client.post("/api/ivr/calls/", {"call_id": "c1"}, format="json")
    assert_error(response, 409, "no_published_menu")


@pytest.mark.parametrize("role", [Role.AGENT, Role.MAINTAINER, Role.DIRECTOR])
def test_a_token_of_another_role_is_403_and_changes_nothing(started, role):
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=make_staff(role)).key}")
    before = snapshot(started.call_id)
    assert_error(other.post("/api/ivr/calls/", {"call_id": "c-x"}, format="json"), 403, "permission_denied")
    response = other.post(f"/api/ivr/calls/{started.call_id}/events/", {"seq": 2, "type": "timeout"}, format="json")
    assert_error(response, 403, "permission_denied")
    assert_error(other.get(f"/api/ivr/calls/{started.call_id}/vxml"), 403, "permission_denied")
    assert snapshot(started.call_id) == before and not IvrCall.objects.filter(call_id="c-x").exists()


def test_no_token_is_401(ivr_menu):
    assert_error(APIClient().post("/api/ivr/calls/", {"call_id": "c1"}, format="json"), 401, "not_authenticated")


def test_the_switch_drives_a_call_with_a_real_token(ivr_menu, switch_user):
    client = APIClient()
    token = client.post("/api/auth/token/", {"username": "ivr-switch", "password": "correct-horse-9"}, format="json")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    call = Caller(client)
    call.start()
    assert prompts(call.press("3")) == ["info_menu"]


def test_passwords_are_never_stored_or_logged(caller, customer, caplog):
    # The wrong password is no run of digits the factories' sequences make (a mobile 13900000111
    # held "000111" once the sequence reached 111).
    caplog.set_level(logging.DEBUG)
    call = caller()
    call.start()
    call.press("1"), call.press(customer.card.number), call.press("482916"), call.press(PHONE_PIN)
    call.press("*"), call.press("2"), call.press(customer.linked[0].number), call.press(WITHDRAWAL_PIN)
    stored = serializers.serialize("json", [*IvrCall.objects.all(), *IvrEvent.objects.all()])
    stored += json.dumps(list(AuditEvent.objects.values()), default=str)
    for secret in (PHONE_PIN, "482916", WITHDRAWAL_PIN):
        assert secret not in stored
        assert secret not in caplog.text
    redacted = IvrEvent.objects.filter(call__call_id=call.call_id, digits=IvrEvent.REDACTED)
    assert redacted.count() == 3 and set(redacted.values_list("step", flat=True)) == {"password"}
    # The prompts never echo a password either.
    assert all(PHONE_PIN not in json.dumps(event.response) for event in IvrEvent.objects.all())


def test_a_retried_password_event_returns_the_stored_response(caller, customer):
    call = caller()
    call.start()
    call.press("1"), call.press(customer.card.number)
    first = call.send("digits", PHONE_PIN)
    retry = call.send("digits", PHONE_PIN, seq=call.seq + 1)
    assert retry.json() == first.json() and said(first.json()["actions"], "account_menu")


# --- VoiceXML ---------------------------------------------------------------------------------------


def parse(response) -> ET.Element:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/voicexml+xml")
    root = ET.fromstring(response.content)  # noqa: S314 - our own document
    assert root.tag == f"{VXML}vxml" and root.get("version") == "2.1"
    return root


def test_vxml_of_a_menu_step_gathers_dtmf_and_submits_to_the_events_endpoint(started, switch_client):
    root = parse(switch_client.get(f"/api/ivr/calls/{started.call_id}/vxml"))
    field = root.find(f"{VXML}form/{VXML}field")
    # In the VoiceXML namespace: VoiceXML 2.1's schema redefines SRGS there (an inline grammar
    # in the SRGS namespace is refused by real browsers).
    grammar = field.find(f"{VXML}grammar")
    assert grammar.get("mode") == "dtmf" and grammar.get("xmlns") is None
    assert grammar.find(f".//{VXML}item").get("repeat") == "0-1"
    audio = field.find(f"{VXML}prompt/{VXML}audio")
    assert audio.text.startswith("存款利率请按1") and audio.get("src").endswith("/audio/1-0.wav")
    submit = field.find(f"{VXML}filled/{VXML}submit")
    assert submit.get("next") == f"/api/ivr/calls/{started.call_id}/events/?reply=vxml"
    assert submit.get("namelist") == "seq type digits"
    assert root.find(f"{VXML}var[@name='seq']").get("expr") == "'2'"
    assert field.find(f"{VXML}noinput/{VXML}submit") is not None


def test_vxml_of_a_transfer_and_of_a_goodbye(started, switch_client, settings):
    started.press("*"), started.press("0")
    root = parse(switch_client.get(f"/api/ivr/calls/{started.call_id}/vxml"))
    transfer = root.find(f".//{VXML}transfer")
    assert transfer.get("dest") == "sip:general@acd.invalid"

    settings.IVR_FAILURE_ACTION = "goodbye"
    call = Caller(switch_client)
    call.start()
    call.press("9"), call.press("9"), call.press("9")
    root = parse(switch_client.get(f"/api/ivr/calls/{call.call_id}/vxml"))
    assert root.find(f".//{VXML}disconnect") is not None


def test_vxml_platforms_post_form_fields_and_get_the_next_document(started, switch_client):
    response = switch_client.post(
        f"/api/ivr/calls/{started.call_id}/events/?reply=vxml", {"seq": "2", "type": "digits", "digits": "2"}
    )
    root = parse(response)
    texts = [audio.text for audio in root.iter(f"{VXML}audio")]
    assert "收费" in texts[0] and texts[-1].startswith("存款利率请按1")
    started_vxml = switch_client.post("/api/ivr/calls/?reply=vxml", {"call_id": "vx-1", "ani": "1"})
    assert parse(started_vxml).find(f".//{VXML}field") is not None


def test_vxml_escapes_prompt_text(caller, switch_client):
    from ivr.models import Prompt

    Prompt.objects.filter(key="main_menu").update(text='按1 <b>&"')
    from ivr.models import MenuVersion

    MenuVersion.objects.update(edit_token=uuid.uuid4())  # let the engine see the edited text
    call = caller()
    call.start()
    root = parse(switch_client.get(f"/api/ivr/calls/{call.call_id}/vxml"))
    assert [audio.text for audio in root.iter(f"{VXML}audio")][-1] == '按1 <b>&"'
