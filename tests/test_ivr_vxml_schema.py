"""Every VoiceXML document the switch gets is valid against the W3C VoiceXML 2.1 schema.

The schema set (with its SRGS, SSML and ``xml.xsd`` imports resolved for offline loading) lives
beside the project, in ``../shared/vxml21/`` — W3C's files, used from there, never copied in.

Every menu path of the default menu (the scenarios of ``tests/test_ivr_menu_paths.py``, collected
here a second time) is replayed with a caller that fetches and validates the call's VoiceXML
document after every step; the tests below add the error handlers and the edge documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ivr import vxml
from ivr.tests.helpers import Caller

etree = pytest.importorskip("lxml.etree", reason="lxml (requirements-dev.txt) validates the VoiceXML")

SCHEMA_PATH = Path(__file__).resolve().parents[1].parent / "shared" / "vxml21" / "vxml.xsd"
if not SCHEMA_PATH.is_file():
    pytest.skip(
        f"the W3C VoiceXML 2.1 schema set is not at {SCHEMA_PATH} (../shared/vxml21 beside the project)",
        allow_module_level=True,
    )

# The scenarios of every menu path, collected again in this module with the validating caller.
from tests.test_ivr_menu_paths import *  # noqa: E402, F403
from tests.test_ivr_menu_paths import pytest_plugins, pytestmark  # noqa: E402, F401

VXML = "{http://www.w3.org/2001/vxml}"
_schema = None


def schema():
    global _schema  # noqa: PLW0603 - loaded once per process (a few hundred ms)
    if _schema is None:
        _schema = etree.XMLSchema(etree.parse(str(SCHEMA_PATH), etree.XMLParser(no_network=True)))
    return _schema


def validated(body: bytes):
    """The parsed document; fails the test with the schema's messages when it is not valid."""
    root = etree.fromstring(body, etree.XMLParser(no_network=True, resolve_entities=False))
    checker = schema()
    if not checker.validate(root):
        messages = "\n".join(f"line {e.line}: {e.message}" for e in checker.error_log)
        pytest.fail(f"VoiceXML not valid against the 2.1 schema:\n{messages}\n{body.decode()}")
    return root


@dataclass
class VxmlCaller(Caller):
    """A caller whose every step's document (``GET .../vxml``) is validated."""

    documents: list = field(default_factory=list)

    def _check(self) -> None:
        response = self.client.get(f"{self.url}vxml")
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("application/voicexml+xml")
        self.documents.append(validated(response.content))

    def start(self):
        actions = super().start()
        self._check()
        return actions

    def event(self, type_, digits=None):
        actions = super().event(type_, digits)
        self._check()
        return actions


@pytest.fixture
def caller(switch_client, ivr_menu):
    """The default menu's caller (as in ``ivr.tests.fixtures``), validating every document."""
    made: list[VxmlCaller] = []

    def make(**kwargs) -> VxmlCaller:
        call = VxmlCaller(switch_client, **kwargs)
        made.append(call)
        return call

    yield make
    started = [call for call in made if call.documents]
    assert not made or started, "no VoiceXML document was validated"


# --- the error handlers and the edge documents -------------------------------------------------------


def _handlers(root):
    badfetch = root.find(f"{VXML}catch[@event='error.badfetch']")
    error = root.find(f"{VXML}error")
    return badfetch, error


def test_every_document_sends_a_failed_fetch_or_an_error_to_the_general_queue(caller, ivr_menu, settings):
    call = caller()
    call.start()
    call.press("3")  # a gather document
    call.press("*"), call.press("0")  # the transfer document, after which the call is over
    destination = vxml.transfer_destination(settings.IVR_AGENT_QUEUE)
    to_agent = ivr_menu.prompts.get(key="to_agent").text
    for root in call.documents:
        badfetch, error = _handlers(root)
        assert badfetch is not None and error is not None, etree.tostring(root)
        for handler in (badfetch, error):
            assert handler.find(f".//{VXML}goto").get("next") == "#fallback"
            assert handler.find(f".//{VXML}if").get("cond") == "fallen_back"  # no loop on a second error
        fallback = root.find(f"{VXML}form[@id='fallback']")
        assert fallback.find(f"{VXML}transfer").get("dest") == destination
        assert fallback.find(f"{VXML}block/{VXML}prompt").text == to_agent
        # The step's own form comes first: the fallback runs only when an error sends it there.
        assert root.find(f"{VXML}form").get("id") == "step"


def test_a_4xx_answer_to_a_submit_gets_a_valid_document_that_still_has_the_handlers(caller, switch_client):
    call = caller()
    call.start()
    stale = switch_client.post(f"/api/ivr/calls/{call.call_id}/events/?reply=vxml", {"seq": "7", "type": "timeout"})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "seq_out_of_order"
    # The platform raises error.badfetch.http.409 on that answer: the handlers of the document
    # it was running (the current step's) take the caller to the queue.
    assert all(_handlers(root)[0] is not None for root in call.documents)


def test_the_documents_of_a_posted_step_and_of_a_start_validate(caller, switch_client):
    call = caller()
    call.start()
    posted = switch_client.post(
        f"/api/ivr/calls/{call.call_id}/events/?reply=vxml", {"seq": "1", "type": "digits", "digits": "1"}
    )
    assert posted.status_code == 200
    validated(posted.content)
    started = switch_client.post("/api/ivr/calls/?reply=vxml", {"call_id": "vx-start-1", "ani": "13800000001"})
    validated(started.content)


def test_a_call_id_with_the_characters_switches_use_gives_a_valid_document_and_escaped_urls(caller, switch_client):
    call = caller(call_id='a84b4c76e66710@pc33.example.com;+tag=1~"x"&<y>?#%:1700000000.123')
    call.start()
    submit = call.documents[-1].find(f".//{VXML}submit").get("next")
    assert '"' not in submit and "<" not in submit and "#" not in submit and "%25" in submit
    audio = switch_client.get(call.documents[-1].find(f".//{VXML}audio").get("src"))
    assert audio.status_code == 200 or audio.json()["error"]["code"] == "audio_unavailable"  # the route matched
    # The platform posts to that URL as it stands: it reaches this very call.
    response = switch_client.post(submit, {"seq": "1", "type": "digits", "digits": "3"})
    assert response.status_code == 200, response.content
    validated(response.content)


def test_the_schema_refuses_the_grammar_with_its_own_namespace():
    """The check itself: the grammar as it was written before (SRGS namespace inside VoiceXML)."""
    body = vxml.document(
        actions=[
            {"type": "say", "prompt": "main_menu", "text": "请按键"},
            {"type": "gather", "max_digits": 1, "timeout_s": 8},
        ],
        next_seq=1,
        events_url="/api/ivr/calls/c/events/",
        ended=False,
    )
    broken = body.replace('<grammar mode="dtmf"', '<grammar xmlns="http://www.w3.org/2001/06/grammar" mode="dtmf"')
    assert broken != body
    assert schema().validate(etree.fromstring(broken.encode())) is False
    assert schema().validate(etree.fromstring(body.encode())) is True


def _announce(text: str, position: str) -> None:
    """An announcement in force for the hour around now."""
    from datetime import timedelta

    from django.utils import timezone

    from ivr.models import Announcement

    now = timezone.now()
    Announcement.objects.create(
        title="通知", text=text, position=position, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1)
    )


def test_a_transfer_with_a_waiting_announcement_validates(caller):

    from ivr.models import Announcement

    _announce("感谢您的耐心等待。", Announcement.Position.WHILE_WAITING)
    call = caller(call_id="1700000000.55")
    call.start()
    call.press("0")
    transfer = call.documents[-1].find(f"{VXML}form[@id='step']/{VXML}transfer")
    assert transfer.get("transferaudio", "").endswith(".wav")


def test_text_with_characters_xml_cannot_hold_still_gives_a_valid_document(caller):
    # A prompt or an announcement pasted from another program can carry control characters
    # (a vertical tab, an escape, a form feed): XML 1.0 cannot hold them even escaped, and the
    # platform could not read the document at all.

    from ivr.models import Announcement

    pasted = "请\x0b按\x1b键\x0c、\x08查询 & <余额>\ud800\uffff"
    body = vxml.document(
        actions=[
            {"type": "say", "prompt": "main_menu", "text": pasted},
            {"type": "gather", "max_digits": 1, "timeout_s": 8},
        ],
        next_seq=1,
        events_url="/api/ivr/calls/c/events/",
        ended=False,
        fallback_prompt="转\x01人工",
    )
    root = validated(body.encode())
    assert root.find(f".//{VXML}prompt").text == "请按键、查询 & <余额>"
    _announce("系统\x0b升级\x1f通知。", Announcement.Position.AFTER_WELCOME)
    call = caller(call_id="1700000000.56")
    call.start()  # every document is validated by the caller
    said = ["".join(prompt.itertext()) for document in call.documents for prompt in document.iter(f"{VXML}prompt")]
    assert "系统升级通知。" in said
