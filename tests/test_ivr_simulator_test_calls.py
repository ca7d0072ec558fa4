"""Calls placed from the IVR simulator are test calls (DESIGN.md §5): routed to an agent like any
other and marked so on the screen-pop, never counted in a KPI, never changing banking state —
their transfers, loss reports and wrong passwords answer exactly as a real call's would, and are
rolled back (``banking.services.simulation.simulate``). The switch cannot drive them, nor they a real call.

Run on SQLite (the embedded default) and on PostgreSQL (``DATABASE_URL``), where a transfer runs
the PL/pgSQL function of ``banking/migrations/0003_transfer_function.py``."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.models import AgentState
from banking.models import Account, AccountEvent, LedgerTransaction, LossReport, PhoneBankingRegistration, Posting
from calls.models import Call
from calls.selectors import screen_pop_payload, wallboard_snapshot
from calls.tests.helpers import status_of
from ivr.models import IvrCall
from ivr.tests.helpers import PHONE_PIN, Caller, prompts
from notifications.models import SmsOutbox
from org.roles import Role
from reports.selectors import call_figures_raw as call_kpis
from tests.factories_banking import WITHDRAWAL_PIN

pytest_plugins = ["calls.tests.fixtures", "ivr.tests.fixtures"]
pytestmark = pytest.mark.django_db


class SimulatorSession:
    """A staff user driving the simulator's session endpoints (the page's API)."""

    def __init__(self, client, user):
        self.client, self.user = client, user
        self.call_id = ""
        self.seq = 0
        self.state: dict = {}

    def start(self) -> list[dict]:
        response = self.client.post("/api/ivr/simulator/calls/", {}, content_type="application/json")
        assert response.status_code == 201, response.content
        body = response.json()
        self.call_id, self.state = body["call_id"], body["state"]
        return body["actions"]

    def press(self, digits: str) -> list[dict]:
        self.seq += 1
        response = self.client.post(
            f"/api/ivr/simulator/calls/{self.call_id}/events/",
            {"seq": self.seq, "type": "digits", "digits": digits},
            content_type="application/json",
        )
        assert response.status_code == 200, response.content
        body = response.json()
        self.state = body["state"]
        return body["actions"]


@pytest.fixture
def tester(client, staff, ivr_menu):
    def make(role=Role.AGENT) -> SimulatorSession:
        client.force_login(staff[role])
        return SimulatorSession(client, staff[role])

    return make


def said(actions: list[dict]) -> list[tuple[str, dict]]:
    """What the caller hears: each prompt with its machine-readable data."""
    return [(action["prompt"], action["data"]) for action in actions if action["type"] == "say"]


def banking_state(customer) -> dict:
    """Every banking row a test call could touch."""
    accounts = [customer.card, *customer.linked]
    registration = PhoneBankingRegistration.objects.get(pk=customer.registration.pk)
    return {
        "balances": {a.pk: Account.objects.get(pk=a.pk).balance_fen for a in accounts},
        "statuses": {a.pk: Account.objects.get(pk=a.pk).status for a in accounts},
        "transactions": LedgerTransaction.objects.count(),
        "postings": Posting.objects.count(),
        "keys": list(LedgerTransaction.objects.exclude(idempotency_key=None).values_list("idempotency_key", flat=True)),
        "sms": SmsOutbox.objects.count(),
        "loss_reports": LossReport.objects.count(),
        "account_events": AccountEvent.objects.count(),
        "registration": (registration.failed_attempts, registration.locked, registration.locked_at),
    }


# --- test calls reach an agent -------------------------------------------------------------------


def test_a_simulator_call_asking_for_an_agent_is_queued_routed_and_marked_as_a_test_call(tester, make_agent, committed):
    agent = make_agent("ready-agent", state=AgentState.READY, idle_for=60)
    sim = tester(Role.TEAM_LEAD)
    sim.start()
    actions = committed(sim.press, "0")
    assert actions[-1] == {"type": "transfer", "queue": "general"} or actions[-1]["type"] == "transfer"
    assert sim.state["ended"] and sim.state["outcome"] == "agent" and sim.state["is_test"]

    call = Call.objects.get(call_id=sim.call_id)
    assert call.is_test and call.state == "offered" and call.agent == agent and call.queue.code == "general"
    assert status_of(agent).state == AgentState.RINGING
    pop = screen_pop_payload(call, for_user=agent)
    assert pop["type"] == "call.offered" and pop["is_test"] is True and pop["call"]["is_test"] is True

    # The page follows it through the calls API (the agent answers, the tester hangs up).
    status = sim.client.get(f"/api/calls/{sim.call_id}/").json()
    assert status["state"] == "offered" and status["agent"] == "ready-agent"
    sim.client.force_login(agent)
    assert sim.client.post(f"/api/calls/{sim.call_id}/answer/").status_code == 200
    sim.client.force_login(sim.user)
    ended = committed(sim.client.post, f"/api/calls/{sim.call_id}/test-hangup/")
    assert ended.status_code == 200 and ended.json()["state"] == "ended"
    assert status_of(agent).state == AgentState.ACW


def test_a_real_call_is_not_a_test_call_and_its_screen_pop_says_so(caller, make_agent, committed):
    agent = make_agent("ready-agent", state=AgentState.READY)
    call = caller()
    call.start()
    committed(call.press, "0")
    record = Call.objects.get(call_id=call.call_id)
    assert record.agent == agent and record.is_test is False
    assert screen_pop_payload(record, for_user=agent)["is_test"] is False


def test_test_calls_are_left_out_of_every_kpi_and_the_wallboards_today(tester, caller, make_agent, committed):
    make_agent("a1", state=AgentState.READY, idle_for=90)
    make_agent("a2", state=AgentState.READY, idle_for=30)
    sim = tester()
    sim.start()
    committed(sim.press, "0")
    real = caller()
    real.start()
    committed(real.press, "0")
    assert Call.objects.filter(is_test=True).count() == 1 and Call.objects.filter(is_test=False).count() == 1
    today = timezone.localdate()
    assert call_kpis(date_from=today, date_to=today)["offered"] == 1
    assert call_kpis(date_from=today, date_to=today, queue="general")["offered"] == 1
    general = next(q for q in wallboard_snapshot()["queues"] if q["code"] == "general")
    assert general["offered_today"] == 1


def test_only_the_tester_can_hang_up_a_test_call_and_never_a_real_one(tester, caller, make_agent, committed, staff):
    sim = tester()
    sim.start()
    committed(sim.press, "0")
    real = caller()
    real.start()
    committed(real.press, "0")
    response = sim.client.post(f"/api/calls/{real.call_id}/test-hangup/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "call_not_found"
    sim.client.force_login(staff[Role.MAINTAINER])
    response = sim.client.post(f"/api/calls/{sim.call_id}/test-hangup/")
    assert response.status_code == 404
    assert Call.objects.get(call_id=sim.call_id).state == "queued"


# --- the switch and the simulator stay apart -----------------------------------------------------


def test_the_switch_token_cannot_drive_or_read_a_simulator_call(tester, switch_client):
    sim = tester()
    sim.start()
    base = f"/api/ivr/calls/{sim.call_id}"
    for response in (
        switch_client.post(f"{base}/events/", {"seq": 1, "type": "digits", "digits": "0"}, format="json"),
        switch_client.post(f"{base}/events/?reply=vxml", {"seq": "1", "type": "timeout"}),
        switch_client.get(f"{base}/vxml"),
        switch_client.get(f"{base}/audio/0-0.wav"),
    ):
        assert response.status_code == 404, response.content
        assert response.json()["error"]["code"] in ("call_not_found", "audio_not_found")
    # Nor take it over by "starting" it again with what the simulator sent.
    again = switch_client.post("/api/ivr/calls/", {"call_id": sim.call_id, "ani": "simulator"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "call_exists"
    assert IvrCall.objects.get(call_id=sim.call_id).last_seq == 0


def test_the_simulator_cannot_drive_a_real_call(tester, caller):
    real = caller()
    real.start()
    sim = tester(Role.MAINTAINER)
    response = sim.client.post(
        f"/api/ivr/simulator/calls/{real.call_id}/events/",
        {"seq": 1, "type": "digits", "digits": "0"},
        content_type="application/json",
    )
    assert response.status_code == 404 and response.json()["error"]["code"] == "call_not_found"
    assert IvrCall.objects.get(call_id=real.call_id).last_seq == 0


# --- test calls never change banking state -------------------------------------------------------


def real_and_simulated(tester, switch_client, customer, keys: list[str]) -> tuple[list, list, dict, dict]:
    """The same keys in a test call, then in a real call: (heard in the test call, heard in the
    real one, banking state before, banking state after the test call)."""
    before = banking_state(customer)
    sim = tester()
    heard_sim = [said(sim.start())]
    heard_sim += [said(sim.press(key)) for key in keys]
    after_sim = banking_state(customer)
    real = Caller(switch_client)
    heard_real = [said(real.start())]
    heard_real += [said(real.press(key)) for key in keys]
    return heard_sim, heard_real, before, after_sim


def test_a_simulated_transfer_says_what_a_real_one_says_and_posts_nothing(tester, switch_client, customer):
    keys = ["1", customer.card.number, PHONE_PIN, "4", "01", "100*5", "1"]
    heard_sim, heard_real, before, after = real_and_simulated(tester, switch_client, customer, keys)
    assert after == before  # no posting, balance, idempotency record, SMS, event
    done = dict(heard_sim[-1])["transfer_done"]
    assert done == {"amount": "100.50", "target": "****" + customer.linked[0].number[-4:], "balance": "49899.50"}
    assert heard_sim == heard_real
    # The real call did post: the comparison was against a transfer that happened.
    assert banking_state(customer)["balances"][customer.card.pk] == 4_989_950


@pytest.mark.parametrize(
    ("amount", "reason"), [("2000", "insufficient_funds"), ("0", "invalid_amount"), ("9999999", "limit_exceeded")]
)
def test_a_simulated_transfer_is_refused_for_the_same_reason(tester, switch_client, customer, amount, reason):
    # From the linked passbook (1,000.00) to the card.
    keys = ["1", customer.linked[0].number, PHONE_PIN, "4", customer.card.number, amount, "1"]
    heard_sim, heard_real, before, after = real_and_simulated(tester, switch_client, customer, keys)
    assert after == before
    assert heard_sim == heard_real
    flat = [pair for step in heard_sim for pair in step]
    assert ("transfer_refused", {"reason": reason}) in flat


def test_simulated_wrong_passwords_lock_the_test_call_only(tester, switch_client, customer):
    keys = ["1", customer.card.number, "000000", "111111", "222222"]
    heard_sim, heard_real, before, after = real_and_simulated(tester, switch_client, customer, keys)
    assert after == before  # no failure counted, no lock, no event
    assert [prompts_of(step) for step in heard_sim[-3:]] == [
        ["auth_failed", "enter_password"],
        ["auth_failed", "enter_password"],
        ["locked", "main_menu"],
    ]
    assert heard_sim == heard_real  # the third wrong entry meets the lock a real caller meets
    registration = PhoneBankingRegistration.objects.get(pk=customer.registration.pk)
    assert registration.locked  # the real call's


def test_a_simulated_right_password_after_wrong_ones_resets_nothing_real(tester, customer):
    PhoneBankingRegistration.objects.filter(pk=customer.registration.pk).update(failed_attempts=1)
    before = banking_state(customer)
    sim = tester()
    sim.start()
    sim.press("1"), sim.press(customer.card.number)
    assert prompts(sim.press(PHONE_PIN))[-1] == "account_menu"
    assert sim.state["verified"] and sim.state["simulated"] == ["password"]
    assert banking_state(customer) == before  # the real counter still says 1


def test_a_simulated_loss_report_says_what_a_real_one_says_and_reports_nothing(tester, switch_client, customer):
    keys = ["2", customer.card.number, WITHDRAWAL_PIN]
    heard_sim, heard_real, before, after = real_and_simulated(tester, switch_client, customer, keys)
    assert after == before  # the card is still active; no report, no SMS, no event
    sim_done, real_done = dict(heard_sim[-1])["loss_done"], dict(heard_real[-1])["loss_done"]
    assert sim_done["number"] == real_done["number"] and sim_done["valid_until"][:13] == real_done["valid_until"][:13]
    assert [prompts_of(step) for step in heard_sim] == [prompts_of(step) for step in heard_real]
    assert Account.objects.get(pk=customer.card.pk).status == "verbally_lost"  # the real call's


def test_a_simulated_loss_report_with_a_wrong_password_records_no_failure(tester, switch_client, customer):
    keys = ["2", customer.card.number, "999999"]
    heard_sim, heard_real, before, after = real_and_simulated(tester, switch_client, customer, keys)
    assert after == before
    assert heard_sim == heard_real
    assert ("loss_refused", {"reason": "wrong_password"}) in heard_sim[-1]


def test_the_simulator_page_is_told_what_was_simulated(tester, customer):
    sim = tester()
    sim.start()
    sim.press("1"), sim.press(customer.card.number), sim.press(PHONE_PIN)
    sim.press("4"), sim.press("01"), sim.press("5")
    assert sim.state["simulated"] == []
    sim.press("1")
    assert sim.state["simulated"] == ["transfer"]
    sim.press("1")  # a balance: nothing simulated
    assert sim.state["simulated"] == []


@pytest.mark.postgres
def test_on_postgresql_the_simulated_transfer_runs_the_plpgsql_function_and_is_rolled_back(tester, customer):
    assert connection.vendor == "postgresql"
    before = banking_state(customer)
    sim = tester()
    sim.start()
    for key in ["1", customer.card.number, PHONE_PIN, "4", "01", "100", "1"][:-1]:
        sim.press(key)
    with CaptureQueriesContext(connection) as queries:
        heard = said(sim.press("1"))
    assert any("banking_transfer_execute" in q["sql"] for q in queries.captured_queries)
    assert any("ROLLBACK TO SAVEPOINT" in q["sql"].upper() for q in queries.captured_queries)
    assert dict(heard)["transfer_done"]["balance"] == "49900.00"
    assert banking_state(customer) == before


def prompts_of(step: list[tuple[str, dict]]) -> list[str]:
    return [prompt for prompt, _data in step]


def test_the_switch_cannot_report_read_or_end_a_test_call_through_the_cti_api(
    tester, switch_client, make_agent, committed
):
    from datetime import timedelta

    sim = tester()
    sim.start()
    committed(sim.press, "0")
    now = timezone.now()
    ended = {
        "event_id": "cti-x-1",
        "call_id": sim.call_id,
        "type": "ended",
        "ts": (now - timedelta(seconds=1)).isoformat(),
    }
    single = switch_client.post("/api/cti/events/", ended, format="json")
    assert single.status_code == 404 and single.json()["error"]["code"] == "call_not_found"
    batch = switch_client.post("/api/cti/events/", [{**ended, "event_id": "cti-x-2"}], format="json")
    assert batch.status_code == 200 and batch.json()["results"][0]["code"] == "call_not_found"
    status = switch_client.get(f"/api/calls/{sim.call_id}/")
    assert status.status_code == 404 and status.json()["error"]["code"] == "call_not_found"
    assert switch_client.post(f"/api/calls/{sim.call_id}/callback/", {}, format="json").status_code == 404
    call = Call.objects.get(call_id=sim.call_id)
    assert call.state == "queued" and call.event_count == 2
