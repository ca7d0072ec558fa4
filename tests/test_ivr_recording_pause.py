"""Never record secrets (issue 17): the IVR tells the switch to pause the recording while it
gathers a password and to resume it when the step is left, and remembers the spans
(``ivr.selectors.secret_spans``) for the recordings' masked segments."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from ivr.models import IvrCall, IvrEvent
from ivr.selectors import secret_spans
from ivr.tests.helpers import PHONE_PIN, prompts
from tests.factories_banking import WITHDRAWAL_PIN

pytestmark = pytest.mark.django_db
pytest_plugins = ["ivr.tests.fixtures"]

PAUSE = {"type": "recording", "state": "pause"}
RESUME = {"type": "recording", "state": "resume"}
WRONG_PIN = "735291"  # distinctive, like PHONE_PIN, so a leak is found in the rows


def kinds(actions) -> list[str]:
    """The actions in order: a say by its prompt, a recording action by its state."""
    out = []
    for action in actions:
        if action["type"] == "say":
            out.append(action["prompt"])
        elif action["type"] == "recording":
            out.append(action["state"])
        else:
            out.append(action["type"])
    return out


def event_times(call) -> dict[int, object]:
    return dict(IvrEvent.objects.filter(call__call_id=call.call_id).values_list("seq", "created_at"))


def test_login_pauses_before_the_password_prompt_and_resumes_first_after_the_digits(caller, customer):
    call = caller()
    call.start()
    call.press("1")
    asked = call.press(customer.card.number)
    assert kinds(asked) == ["pause", "enter_password", "gather"]
    assert asked[0] == PAUSE
    answer = call.press(PHONE_PIN)
    assert answer[0] == RESUME
    assert kinds(answer) == ["resume", "account_menu", "gather"]
    # Nothing else of the call pauses: the number step and the account menu are recorded.
    assert [k for k in kinds(call.press("1")) if k in ("pause", "resume")] == []
    times = event_times(call)
    assert secret_spans(call.call_id) == [(times[2], times[3])]


def test_a_say_keeps_its_audio_url_index_after_the_pause_is_inserted(caller, customer):
    call = caller()
    call.start()
    call.press("1")
    asked = call.press(customer.card.number)
    assert asked[1]["audio_url"].endswith(f"/audio/{call.seq}-1.wav")  # index 0 is the pause
    answer = call.press(PHONE_PIN)
    assert answer[1]["audio_url"].endswith(f"/audio/{call.seq}-1.wav")  # index 0 is the resume


def test_a_wrong_password_asked_again_stays_paused_until_the_step_is_left(caller, customer):
    call = caller()
    call.start()
    call.press("1"), call.press(customer.card.number)
    again = call.press("000000")
    assert kinds(again) == ["auth_failed", "pause", "enter_password", "gather"]  # no resume in between
    again = call.press("111111")
    assert RESUME not in again and PAUSE in again
    locked = call.press("222222")  # the third wrong one locks: back to the main menu
    assert locked[0] == RESUME and "locked" in prompts(locked) and PAUSE not in locked
    times = event_times(call)
    # One span, from the first pause to the event that left the step.
    assert secret_spans(call.call_id) == [(times[2], times[5])]


def test_the_loss_report_pauses_for_the_withdrawal_password(caller, customer):
    call = caller()
    call.start()
    call.press("2")
    asked = call.press(customer.card.number)
    assert kinds(asked) == ["pause", "enter_password", "gather"]
    assert asked[1]["data"] == {"password": "withdrawal"}
    done = call.press(WITHDRAWAL_PIN)
    assert done[0] == RESUME and "loss_done" in prompts(done)
    times = event_times(call)
    assert secret_spans(call.call_id) == [(times[2], times[3])]


def test_a_wrong_withdrawal_password_resumes_with_the_refusal(caller, customer):
    call = caller()
    call.start()
    call.press("2"), call.press(customer.card.number)
    refused = call.press("999999")
    assert refused[0] == RESUME and "loss_refused" in prompts(refused)


def test_the_transfer_confirmation_is_recorded_the_login_password_is_not(caller, customer):
    """The transfer asks target, amount and a 1/2 confirmation — no password of its own (the
    login's is the only one on that path), so only the login's span is masked."""
    call = caller()
    call.start()
    call.login(customer.card.number)
    for keys in ("4", "01", "100", "1"):
        answer = call.press(keys)
        assert not any(action["type"] == "recording" for action in answer), answer
    assert "transfer_done" in prompts(call.actions)
    assert len(secret_spans(call.call_id)) == 1


def test_a_timeout_at_the_password_asks_again_paused_and_the_give_up_resumes_before_the_transfer(caller, customer):
    call = caller()
    call.start()
    call.press("1"), call.press(customer.card.number)
    again = call.timeout()
    assert kinds(again) == ["pause", "enter_password", "gather"]
    call.timeout()
    gave_up = call.timeout()  # the third failure: to an agent
    assert kinds(gave_up) == ["resume", "to_agent", "transfer"]
    record = IvrCall.objects.get(call_id=call.call_id)
    assert record.outcome == "agent" and record.step == ""
    times = event_times(call)
    assert secret_spans(call.call_id) == [(times[2], times[5])]


@override_settings(IVR_FAILURE_ACTION="goodbye", IVR_MAX_FAILURES=1)
def test_a_goodbye_from_the_password_step_resumes_before_the_hangup(caller, customer):
    call = caller()
    call.start()
    call.press("1"), call.press(customer.card.number)
    assert kinds(call.timeout()) == ["resume", "goodbye", "hangup"]


def test_the_caller_hanging_up_at_the_password_prompt_ends_the_span(caller, customer):
    call = caller()
    call.start()
    call.press("1"), call.press(customer.card.number)
    assert call.hangup() == [RESUME]
    times = event_times(call)
    assert secret_spans(call.call_id) == [(times[2], times[3])]
    assert IvrCall.objects.get(call_id=call.call_id).ended


def test_a_span_still_open_ends_now_and_a_call_without_a_password_has_none(caller, customer):
    call = caller()
    call.start()
    call.press("1"), call.press(customer.card.number)
    before = timezone.now()
    [(start, end)] = secret_spans(call.call_id)
    assert start == event_times(call)[2] and before <= end <= timezone.now()

    other = caller()
    other.start()
    other.press("3"), other.press("1"), other.press("*"), other.press("0")
    assert secret_spans(other.call_id) == []
    assert secret_spans("no-such-call") == []


def test_an_open_span_of_an_ended_call_ends_at_the_calls_end(caller, customer):
    """A call ended with the step still secret (rows from before the resume rule, or ended by a
    sweep): the span ends at the call's end, not now."""
    call = caller()
    call.start()
    call.press("1"), call.press(customer.card.number)
    ended_at = event_times(call)[2] + timedelta(seconds=20)
    IvrCall.objects.filter(call_id=call.call_id).update(ended=True, ended_at=ended_at)
    assert secret_spans(call.call_id) == [(event_times(call)[2], ended_at)]


def test_two_logins_give_two_spans_in_order(caller, customer):
    call = caller()
    call.start()
    call.press("2"), call.press(customer.card.number), call.press("999999")  # loss report refused
    call.login(customer.card.number)
    times = event_times(call)
    assert secret_spans(call.call_id) == [(times[2], times[3]), (times[5], times[6])]


def test_the_digits_are_stored_nowhere(caller, customer):
    call = caller()
    call.start()
    call.press("1"), call.press(customer.card.number), call.press(WRONG_PIN)
    call.press(PHONE_PIN)
    other = caller()
    other.start()
    other.press("2"), other.press(customer.card.number), other.press(WITHDRAWAL_PIN)
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    stored = dump.getvalue()
    assert IvrEvent.REDACTED in stored  # the dump holds the events...
    for secret in (PHONE_PIN, WITHDRAWAL_PIN, WRONG_PIN):
        assert secret not in stored, secret  # ...but no password typed, right or wrong
    # The spans are times only.
    assert all(not isinstance(part, str) for span in secret_spans(call.call_id) for part in span)
