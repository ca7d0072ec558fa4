"""Test helpers for the IVR: a simulated caller driving the switch API (fixtures live in
``ivr.tests.fixtures``; a test module loads them with ``pytest_plugins``)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from rest_framework.test import APIClient

PHONE_PIN = "918273"  # distinctive, so a leak is easy to find in rows and logs
_call_numbers = itertools.count(1)


@dataclass
class Caller:
    """One call through ``/api/ivr/calls/``: keeps the seq and the last response."""

    client: APIClient
    call_id: str = field(default_factory=lambda: f"test-call-{next(_call_numbers)}")
    ani: str = "13900000000"
    seq: int = 0
    actions: list[dict[str, Any]] = field(default_factory=list)
    base: str = "/api/ivr/calls/"

    @property
    def url(self) -> str:
        """The call's URL, its id percent-encoded (switches' ids may hold ``? # %``)."""
        return f"{self.base}{quote(self.call_id, safe='')}/"

    def start(self) -> list[dict[str, Any]]:
        response = self.client.post(
            self.base, {"call_id": self.call_id, "ani": self.ani, "dnis": "96xxx"}, format="json"
        )
        assert response.status_code == 201, response.content
        self.actions = response.json()["actions"]
        return self.actions

    def send(self, type_: str, digits: str | None = None, *, seq: int | None = None):
        body: dict[str, Any] = {"seq": seq if seq is not None else self.seq + 1, "type": type_}
        if digits is not None:
            body["digits"] = digits
        return self.client.post(f"{self.url}events/", body, format="json")

    def event(self, type_: str, digits: str | None = None) -> list[dict[str, Any]]:
        response = self.send(type_, digits)
        assert response.status_code == 200, response.content
        self.seq += 1
        self.actions = response.json()["actions"]
        return self.actions

    def press(self, digits: str) -> list[dict[str, Any]]:
        return self.event("digits", digits)

    def timeout(self) -> list[dict[str, Any]]:
        return self.event("timeout")

    def hangup(self) -> list[dict[str, Any]]:
        return self.event("hangup")

    def login(self, number: str, pin: str = PHONE_PIN) -> list[dict[str, Any]]:
        self.press("1")
        self.press(number)
        return self.press(pin)


def prompts(actions: list[dict[str, Any]]) -> list[str]:
    return [action["prompt"] for action in actions if action["type"] == "say"]


def said(actions: list[dict[str, Any]], prompt: str) -> dict[str, Any]:
    matches = [action for action in actions if action["type"] == "say" and action["prompt"] == prompt]
    assert matches, f"{prompt} not said in {prompts(actions)}"
    return matches[0]


def last(actions: list[dict[str, Any]]) -> dict[str, Any]:
    return actions[-1]
