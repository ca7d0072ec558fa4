"""The recording's pause and resume in VoiceXML (issue 17): ``<log label="recording">`` in a block
before the step's prompts, a resume in the fallback of a paused document, and every document
still valid against the W3C VoiceXML 2.1 schema (skipped with it where ``../shared/vxml21`` is
absent)."""

from __future__ import annotations

import pytest

from ivr import vxml
from ivr.tests.helpers import PHONE_PIN
from tests.test_ivr_vxml_schema import VXML, VxmlCaller, schema, validated

pytestmark = pytest.mark.django_db
pytest_plugins = ["ivr.tests.fixtures"]

etree = pytest.importorskip("lxml.etree")


@pytest.fixture
def caller(switch_client, ivr_menu):
    def make(**kwargs) -> VxmlCaller:
        return VxmlCaller(switch_client, **kwargs)

    return make


def step_form(root):
    return root.find(f"{VXML}form[@id='step']")


def recording_logs(element) -> list[str]:
    return [log.text for log in element.iter(f"{VXML}log") if log.get("label") == "recording"]


def test_the_password_document_pauses_before_its_field_and_the_next_resumes_first(caller, customer):
    call = caller()
    call.start()
    call.press("1")
    call.press(customer.card.number)
    asked = call.documents[-1]
    form = step_form(asked)
    first, field = form[0], form.find(f"{VXML}field")
    assert first.tag == f"{VXML}block" and recording_logs(first) == ["pause"]
    assert list(form).index(first) < list(form).index(field)  # before the password's prompt
    # The fallback of a paused document resumes before its transfer to the general queue.
    fallback = asked.find(f"{VXML}form[@id='fallback']")
    assert recording_logs(fallback) == ["resume"]
    block = fallback.find(f"{VXML}block")
    assert [child.tag for child in block][:2] == [f"{VXML}log", f"{VXML}prompt"]

    call.press(PHONE_PIN)
    after = call.documents[-1]
    form = step_form(after)
    assert form[0].tag == f"{VXML}block" and recording_logs(form[0]) == ["resume"]
    assert recording_logs(after.find(f"{VXML}form[@id='fallback']")) == []
    # The next document says nothing of the recording.
    call.press("1")
    assert recording_logs(call.documents[-1]) == []


def test_a_document_without_a_secret_has_no_recording_log(caller):
    call = caller()
    call.start()
    call.press("3")
    assert all(recording_logs(root) == [] for root in call.documents)


def test_a_resume_before_a_transfer_comes_first_in_the_transfer_document(caller, customer, settings):
    settings.IVR_MAX_FAILURES = 1
    call = caller()
    call.start()
    call.press("1"), call.press(customer.card.number)
    call.timeout()  # the one failure allowed: to an agent
    form = step_form(call.documents[-1])
    tags = [child.tag for child in form]
    assert tags.index(f"{VXML}block") < tags.index(f"{VXML}transfer")
    assert recording_logs(form[0]) == ["resume"]


def test_the_recording_documents_validate_and_a_misplaced_log_would_not():
    body = vxml.document(
        actions=[
            {"type": "recording", "state": "pause"},
            {"type": "say", "prompt": "enter_password", "text": "请输入密码"},
            {"type": "gather", "max_digits": 32, "timeout_s": 8},
        ],
        next_seq=3,
        events_url="/api/ivr/calls/c/events/",
        ended=False,
    )
    validated(body.encode())
    # The check itself: a <log> directly in a <form> (not executable content there) is refused.
    broken = body.replace('<form id="step">\n', '<form id="step">\n<log label="recording">pause</log>\n', 1)
    assert broken != body and schema().validate(etree.fromstring(broken.encode())) is False
