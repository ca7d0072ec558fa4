"""The recording is paused while the IVR gathers a password, on every menu path (issue 17).

Every scenario of ``tests/test_ivr_menu_paths.py`` is collected here a second time with a caller
that checks each answer against the recording contract (docs/ivr-switch.md "Recording"): a
``pause`` before the password's prompt, a ``resume`` first in the answer that leaves the password
step, never a transfer or a hang-up while paused, and ``ivr.selectors.secret_spans`` giving one
span per pause.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from ivr.selectors import secret_spans
from ivr.tests.helpers import Caller

# The scenarios of every menu path, collected again in this module with the checking caller.
from tests.test_ivr_menu_paths import *  # noqa: F403
from tests.test_ivr_menu_paths import pytest_plugins, pytestmark  # noqa: F401

PAUSE = {"type": "recording", "state": "pause"}
RESUME = {"type": "recording", "state": "resume"}


def asks_password(actions) -> bool:
    says = [action for action in actions if action["type"] == "say"]
    return bool(says) and says[-1]["prompt"] == "enter_password" and actions[-1]["type"] == "gather"


def check_answer(actions, *, paused: bool) -> bool:
    """Check one answer given whether the recording was paused before it; → paused after it."""
    if paused and not asks_password(actions):
        assert actions and actions[0] == RESUME, f"leaving the password step must resume first: {actions}"
    for action in actions:
        if action["type"] == "recording":
            assert action in (PAUSE, RESUME), action
            assert action == PAUSE or paused, f"a resume without a pause: {actions}"
            paused = action == PAUSE
        elif action["type"] == "say" and action["prompt"] == "enter_password":
            assert paused, f"the password prompt is said with the recording running: {actions}"
        elif action["type"] in ("transfer", "hangup"):
            assert not paused, f"{action['type']} with the recording paused: {actions}"
    assert paused == asks_password(actions), actions
    return paused


@dataclass
class RecordingCaller(Caller):
    paused: bool = False
    pauses: int = 0
    answers: list = field(default_factory=list)

    def _check(self, actions) -> None:
        was = self.paused
        self.paused = check_answer(actions, paused=was)
        self.pauses += int(self.paused and not was)
        self.answers.append(actions)

    def start(self):
        actions = super().start()
        self._check(actions)
        return actions

    def event(self, type_, digits=None):
        actions = super().event(type_, digits)
        self._check(actions)
        return actions


@pytest.fixture
def caller(switch_client, ivr_menu):
    """The default menu's caller (as in ``ivr.tests.fixtures``), checking the recording contract."""
    made: list[RecordingCaller] = []

    def make(**kwargs) -> RecordingCaller:
        call = RecordingCaller(switch_client, **kwargs)
        made.append(call)
        return call

    yield make
    for call in made:
        if not call.answers:
            continue
        spans = secret_spans(call.call_id)
        assert len(spans) == call.pauses, (call.call_id, spans, call.answers)
        assert all(start <= end for start, end in spans)
    assert not made or any(call.answers for call in made), "no answer was checked"


def test_the_checker_itself_refuses_a_password_prompt_without_a_pause():
    asked = [{"type": "say", "prompt": "enter_password"}, {"type": "gather"}]
    with pytest.raises(AssertionError):
        check_answer(asked, paused=False)
    assert check_answer([PAUSE, *asked], paused=False) is True
    with pytest.raises(AssertionError):  # left the step without resuming
        check_answer([{"type": "say", "prompt": "account_menu"}, {"type": "gather"}], paused=True)
    with pytest.raises(AssertionError):  # to an agent while paused
        check_answer([{"type": "say", "prompt": "to_agent"}, {"type": "transfer"}, RESUME], paused=True)
