"""The self-service and callback KPIs (reports/service_figures.py and the selectors it combines):
callbacks made and reached, verbal loss reports, transfers in the IVR and their refusals by
reason; the "Self-service and callbacks" report page, its exports and its lines in the monthly
report.

Everything is built through the services (callbacks with ``agents.services``, loss reports with
``banking.services.loss_reports``) and the IVR's switch API (a caller walking the default menu),
so the figures are those real use writes; the expected values are worked out by hand in each
test. Rows are moved to another day with an ``update`` of their time where a test needs two days.
"""

from __future__ import annotations

import io
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone, translation

from agents.services import callback_complete, callback_request, callback_schedule
from banking.models import LossReport
from banking.services.ledger import ledger_post
from banking.services.loss_reports import loss_report_cancel, loss_report_register, loss_reports_expire
from calls.models import Call
from ivr.models import IvrCall, IvrEvent
from ivr.tests.helpers import PHONE_PIN, said
from org.roles import Role
from reports.service_figures import service_figures
from tests.factories import make_staff
from tests.factories_banking import WITHDRAWAL_PIN, AccountFactory

pytest_plugins = ["calls.tests.fixtures", "ivr.tests.fixtures"]
pytestmark = pytest.mark.django_db

TZ = timezone.get_default_timezone()


def today():
    return timezone.localdate()


def yesterday():
    return today() - timedelta(days=1)


def late_yesterday():
    """23:59:59 local time yesterday: the last second of the day before."""
    return timezone.make_aware(datetime.combine(yesterday(), time(23, 59, 59)), TZ)


def soon():
    return timezone.now() + timedelta(hours=1)


# --- callbacks ------------------------------------------------------------------------------------


@pytest.fixture
def callbacks(queues):
    """Today, in queue general (agents a1 and a2):

    1. scheduled by a1, reached by a1 at the first try            → a1: reached, 1 call
    2. scheduled by a1, not reached 3 times (a1, a2, a2)          → a2: not reached, 3 calls
    3. requested by a waiting caller, nobody called yet           → the queue's: open, 0 calls
    4. scheduled by a2, not called yet                            → a2: open, 0 calls
    5. scheduled by a1, cancelled by a1                           → a1: cancelled, 1 (recorded)
    6. requested by a caller, not reached once (a1): open again   → the queue's: open, 1 call
    7. requested on a simulator test call, reached by a1          → never counted
    8. scheduled by a1 yesterday, reached by a1                   → yesterday's

    Today: 6 callbacks; reached 1, not reached 1, cancelled 1, open 3; 1 + 3 + 0 + 0 + 1 + 1 = 6
    calls; reach rate 1 ÷ (1 + 1) = 0.5. Per agent: a1 reached 1, cancelled 1, 2 calls, rate
    1 ÷ 1 = 1.0; a2 not reached 1, open 1, 3 calls, rate 0 ÷ 1 = 0.0; the queue's open 2, 1 call,
    rate None (nothing answered).
    """
    general = queues["general"]
    a1 = make_staff(Role.AGENT, username="cb-agent1")
    a2 = make_staff(Role.AGENT, username="cb-agent2")

    def schedule(agent):
        return callback_schedule(actor=agent, phone="13900000001", queue="general", due_at=soon())

    def request(call=None):
        return callback_request(call=call, phone="13900000002", queue_id=general.pk, due_at=soon())

    one = schedule(a1)
    callback_complete(callback_id=one.pk, actor=a1, outcome="done")
    two = schedule(a1)
    for agent in (a1, a2, a2):
        callback_complete(callback_id=two.pk, actor=agent, outcome="failed")
    request()
    schedule(a2)
    five = schedule(a1)
    callback_complete(callback_id=five.pk, actor=a1, outcome="cancelled")
    six = request()
    callback_complete(callback_id=six.pk, actor=a1, outcome="failed")
    test_call = Call.objects.create(call_id="sim-callback-1", queue=general, is_test=True)
    seven = request(call=test_call)
    callback_complete(callback_id=seven.pk, actor=a1, outcome="done")
    eight = schedule(a1)
    callback_complete(callback_id=eight.pk, actor=a1, outcome="done")
    type(eight).objects.filter(pk=eight.pk).update(created_at=late_yesterday())
    return {"a1": a1, "a2": a2}


def test_callbacks_of_the_period_by_where_they_stand_and_per_agent(callbacks):
    figures = service_figures(today(), today())["callbacks"]
    assert {key: figures[key] for key in ("created", "reached", "not_reached", "cancelled", "open", "attempts")} == {
        "created": 6,
        "reached": 1,
        "not_reached": 1,
        "cancelled": 1,
        "open": 3,
        "attempts": 6,
    }
    assert figures["reach_rate"] == 0.5
    by_agent = {row["agent"]: row for row in figures["by_agent"]}
    assert list(by_agent) == ["cb-agent1", "cb-agent2", ""]  # the queue's (unassigned) last
    assert by_agent["cb-agent1"] | {"name": ""} == {
        "agent": "cb-agent1",
        "name": "",
        "open": 0,
        "reached": 1,
        "not_reached": 0,
        "cancelled": 1,
        "attempts": 2,
        "reach_rate": 1.0,
    }
    assert (by_agent["cb-agent2"]["not_reached"], by_agent["cb-agent2"]["open"]) == (1, 1)
    assert (by_agent["cb-agent2"]["attempts"], by_agent["cb-agent2"]["reach_rate"]) == (3, 0.0)
    assert (by_agent[""]["open"], by_agent[""]["attempts"], by_agent[""]["reach_rate"]) == (2, 1, None)


def test_callbacks_count_on_the_local_day_they_were_created(callbacks):
    figures = service_figures(yesterday(), yesterday())["callbacks"]
    assert (figures["created"], figures["reached"], figures["reach_rate"]) == (1, 1, 1.0)
    both = service_figures(yesterday(), today())["callbacks"]
    assert (both["created"], both["reached"], both["reach_rate"]) == (7, 2, round(2 / 3, 4))


def test_no_callbacks_give_zeros_and_no_reach_rate(queues):
    figures = service_figures(today(), today())["callbacks"]
    assert (figures["created"], figures["attempts"], figures["reach_rate"], figures["by_agent"]) == (0, 0, None, [])


# --- verbal loss reports --------------------------------------------------------------------------


@pytest.fixture
def loss_reports(staff, ivr_menu):
    """Made today unless said:

    1. agent, id document, still valid                      → agent: in force
    2. IVR, withdrawal password, cancelled after            → IVR: cancelled
    3. agent, past its validity, expired by the task        → agent: expired
    4. IVR, past its validity, the task not yet run         → IVR: expired (no longer in force)
    5. agent, on a simulator test call                      → never counted
    6. counter, yesterday                                    → yesterday's

    Today: 4 reported — IVR 2 (1 cancelled, 1 expired), agent 2 (1 in force, 1 expired),
    counter 0; in force 1, cancelled 1, expired 2, formalized 0.
    """
    agent = staff[Role.AGENT]
    past = timezone.now() - timedelta(minutes=1)
    loss_report_register(account=AccountFactory(), verification="id_document", channel="agent", actor=agent)
    two = loss_report_register(
        account=AccountFactory(), verification="password", channel="ivr", password=WITHDRAWAL_PIN
    )
    loss_report_cancel(loss_report=two, actor=agent, channel="agent")
    three = loss_report_register(account=AccountFactory(), verification="id_document", channel="agent", actor=agent)
    LossReport.objects.filter(pk=three.pk).update(valid_until=past)
    assert loss_reports_expire() == 1
    four = loss_report_register(
        account=AccountFactory(), verification="password", channel="ivr", password=WITHDRAWAL_PIN
    )
    test_call = IvrCall.objects.create(call_id="sim-loss-1", version=ivr_menu, is_test=True)
    loss_report_register(
        account=AccountFactory(), verification="id_document", channel="agent", actor=agent, call_id=test_call.call_id
    )
    LossReport.objects.filter(pk=four.pk).update(valid_until=past)  # after the task ran
    six = loss_report_register(account=AccountFactory(), verification="id_document", channel="counter", actor=agent)
    LossReport.objects.filter(pk=six.pk).update(created_at=late_yesterday())


def test_loss_reports_of_the_period_by_channel_and_status(loss_reports):
    figures = service_figures(today(), today())["loss_reports"]
    assert {key: figures[key] for key in ("reported", "in_force", "cancelled", "expired", "formalized")} == {
        "reported": 4,
        "in_force": 1,
        "cancelled": 1,
        "expired": 2,
        "formalized": 0,
    }
    channels = {row["channel"]: row for row in figures["by_channel"]}
    assert list(channels) == ["ivr", "agent", "counter"]  # every channel, also with nothing
    assert {key: channels["ivr"][key] for key in ("reported", "in_force", "cancelled", "expired")} == {
        "reported": 2,
        "in_force": 0,
        "cancelled": 1,
        "expired": 1,
    }
    assert {key: channels["agent"][key] for key in ("reported", "in_force", "cancelled", "expired")} == {
        "reported": 2,
        "in_force": 1,
        "cancelled": 0,
        "expired": 1,
    }
    assert channels["counter"]["reported"] == 0
    before = service_figures(yesterday(), yesterday())["loss_reports"]
    assert (before["reported"], before["in_force"], before["by_channel"][2]["reported"]) == (1, 1, 1)


# --- transfers in the IVR -------------------------------------------------------------------------


def refused_reason(actions) -> str:
    return said(actions, "transfer_refused")["data"]["reason"]


@pytest.fixture
def ivr_transfers(caller, customer, client, staff):
    """Through the switch API on the default menu; the customer's card holds 50,000.00, linked
    passbooks 01 1,000.00 and 02 0.00:

    call A (card): 100.50 to 01 — done; 250 to 02 — done; to a stranger's card — refused
      not_linked; amount "1*234" — refused invalid_amount;
    call B (passbook 01, 1,100.50 now): 2,000 to the card — refused insufficient_funds;
    call C (card, limit per transfer 100.00): 100.01 to 01 — refused limit_exceeded;
    a transfer of 1.00 the IVR booked at 23:59:59 yesterday; an agent's transfer of 7.00 today;
    a simulator test call: 5.00 to 01 — simulated, and to a stranger — refused: never counted.

    Today: executed 2, 10,050 + 25,000 = 35,050 fen (350.50 yuan); refused 4 (one of each reason)
    in 3 calls; asked for 2 + 4 = 6; refusal rate 4 ÷ 6 = 0.6667. Yesterday: 1 executed, 100 fen,
    nothing refused.
    """
    stranger = AccountFactory()
    a = caller()
    a.start()
    a.login(customer.card.number)
    a.press("4"), a.press("01"), a.press("100*5")
    said(a.press("1"), "transfer_done")
    a.press("4"), a.press("02"), a.press("250")
    said(a.press("1"), "transfer_done")
    a.press("4")
    assert refused_reason(a.press(stranger.number)) == "not_linked"
    a.press("4"), a.press("01")
    assert refused_reason(a.press("1*234")) == "invalid_amount"

    b = caller()
    b.start()
    b.login(customer.linked[0].number)
    b.press("4"), b.press(customer.card.number), b.press("2000")
    assert refused_reason(b.press("1")) == "insufficient_funds"

    with override_settings(BANKING_TRANSFER_LIMIT_FEN=10_000):
        c = caller()
        c.start()
        c.login(customer.card.number)
        c.press("4"), c.press("01"), c.press("100*01")
        assert refused_reason(c.press("1")) == "limit_exceeded"

    # Booked by the IVR at the last second of yesterday (history, backdated); an agent's transfer
    # today is not the IVR's.
    ledger_post(
        kind="transfer",
        channel="ivr",
        lines=[(customer.card, -100), (customer.linked[1], 100)],
        call_id="history-call",
        posted_at=late_yesterday(),
    )
    ledger_post(kind="transfer", channel="agent", lines=[(customer.card, -700), (customer.linked[1], 700)])

    client.force_login(staff[Role.AGENT])
    sim = client.post("/api/ivr/simulator/calls/", {}, content_type="application/json").json()["call_id"]
    for seq, digits in enumerate(
        ["1", customer.card.number, PHONE_PIN, "4", "01", "5", "1", "4", stranger.number], start=1
    ):
        response = client.post(
            f"/api/ivr/simulator/calls/{sim}/events/",
            {"seq": seq, "type": "digits", "digits": digits},
            content_type="application/json",
        )
        assert response.status_code == 200, response.content
    assert IvrCall.objects.get(call_id=sim).is_test
    assert IvrEvent.objects.filter(call__call_id=sim, response__isnull=False).count() == 10
    return {"a": a, "b": b, "c": c}


def test_ivr_transfers_executed_from_the_ledger_and_refusals_by_reason(ivr_transfers):
    figures = service_figures(today(), today())["ivr_transfers"]
    assert {key: figures[key] for key in ("executed", "amount_fen", "refused", "attempts", "refused_calls")} == {
        "executed": 2,
        "amount_fen": 35_050,
        "refused": 4,
        "attempts": 6,
        "refused_calls": 3,
    }
    assert isinstance(figures["amount_fen"], int)
    assert figures["refusal_rate"] == 0.6667
    with translation.override("en"):
        reasons = [(row["code"], str(row["label"]), row["refused"], row["share"]) for row in figures["by_reason"]]
    assert reasons == [
        ("insufficient_funds", "The balance is not sufficient.", 1, 0.25),
        ("invalid_amount", "The amount must be a positive number of yuan with at most 2 decimals.", 1, 0.25),
        ("limit_exceeded", "The amount exceeds the per-transfer or the daily limit.", 1, 0.25),
        ("not_linked", "Transfers are allowed only between the registered account and its linked accounts.", 1, 0.25),
    ]
    with translation.override("zh-hans"):
        labels = {row["code"]: str(row["label"]) for row in figures["by_reason"]}
    assert labels["insufficient_funds"] != "The balance is not sufficient."  # translated


def test_ivr_transfers_count_on_the_local_day_the_ledger_booked_them(ivr_transfers):
    before = service_figures(yesterday(), yesterday())["ivr_transfers"]
    assert (before["executed"], before["amount_fen"], before["refused"], before["refusal_rate"]) == (1, 100, 0, 0.0)
    both = service_figures(yesterday(), today())["ivr_transfers"]
    assert (both["executed"], both["amount_fen"], both["refused"]) == (3, 35_150, 4)


def test_no_transfers_give_zeros_and_no_rates(ivr_menu):
    figures = service_figures(today(), today())
    assert figures["ivr_transfers"] | {"by_reason": None} == {
        "executed": 0,
        "amount_fen": 0,
        "refused": 0,
        "attempts": 0,
        "refusal_rate": None,
        "refused_calls": 0,
        "by_reason": None,
    }
    assert figures["loss_reports"]["reported"] == 0


# --- the page, its exports, the monthly report ----------------------------------------------------


def page_text(response) -> str:
    import re

    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_the_analyst_sees_every_part_of_the_page_in_chinese_and_english(client_for, callbacks, ivr_transfers):
    client = client_for(make_staff(Role.ANALYST, username="analyst-x"))
    params = {"date_from": today().isoformat(), "date_to": today().isoformat()}
    chinese = page_text(client.get("/reports/service/", params))
    assert "余额不足。" in chinese and "座席" in chinese and "已联系上" in chinese  # Chinese by default
    client.cookies["django_language"] = "en"
    response = client.get("/reports/service/", params)
    assert response.status_code == 200
    text = page_text(response)
    for title in (
        "Callbacks per agent",
        "Verbal loss reports",
        "Transfers in the IVR",
        "IVR transfers refused by reason",
    ):
        assert title in text
    # 350.50 yuan executed; refusal rate 4 ÷ 6; callbacks reach rate 1 ÷ 2; a1's 1 ÷ 1.
    assert "350.50" in text and "66.7%" in text and "50.0%" in text and "100.0%" in text
    assert "The balance is not sufficient." in text and "limit_exceeded" in text


@pytest.mark.parametrize("role", [Role.ANALYST, Role.DIRECTOR, Role.TEAM_LEAD])
def test_who_opens_the_page(client_for, queues, role):
    assert client_for(make_staff(role)).get("/reports/service/").status_code == 200


@pytest.mark.parametrize("role", [Role.AGENT, Role.UNIT_STAFF, Role.MAINTAINER, Role.RISK_OFFICER])
def test_other_roles_are_refused(client_for, queues, role):
    assert client_for(make_staff(role)).get("/reports/service/").status_code == 403


def test_a_team_lead_sees_the_callbacks_only(client_for, callbacks, ivr_transfers):
    params = {"date_from": today().isoformat(), "date_to": today().isoformat()}
    lead = page_text(client_for(make_staff(Role.TEAM_LEAD)).get("/reports/service/", params))
    analyst = page_text(client_for(make_staff(Role.ANALYST)).get("/reports/service/", params))
    assert "cb-agent1" in lead and "cb-agent1" in analyst
    assert "350.50" not in lead and "350.50" in analyst


def test_the_csv_and_the_workbook(client_for, callbacks, ivr_transfers):
    from openpyxl import load_workbook

    client = client_for(make_staff(Role.ANALYST))
    params = {"date_from": today().isoformat(), "date_to": today().isoformat()}
    csv = b"".join(client.get("/reports/service/", {**params, "format": "csv"}).streaming_content).decode("utf-8-sig")
    lines = csv.strip().splitlines()
    assert lines[-1].split(",")[2:] == ["6", "1", "1", "1", "3", "6", "50.0%"]  # the total row
    book = load_workbook(io.BytesIO(client.get("/reports/service/", {**params, "format": "xlsx"}).content))
    assert len(book.sheetnames) == 4
    transfers = book.worksheets[2]
    values = [[cell.value for cell in row] for row in transfers.iter_rows()]
    data = values[-1]
    assert data[:2] == [6, 2] and Decimal(str(data[2])) == Decimal("350.50") and data[3] == 4
    assert transfers.cell(row=len(values), column=3).number_format == "#,##0.00"


def test_the_monthly_report_has_the_lines_and_the_tables(client_for, callbacks, ivr_transfers):
    from openpyxl import load_workbook

    client = client_for(make_staff(Role.ANALYST))
    month = today().strftime("%Y-%m")
    # This month: today's figures, and yesterday's when yesterday is in the same month.
    same_month = yesterday().month == today().month
    amount, reached = ("351.50", 2) if same_month else ("350.50", 1)
    client.cookies["django_language"] = "en"
    text = page_text(client.get("/reports/monthly/", {"month": month}))
    for label in ("Callbacks reached", "Callback reach rate", "Verbal loss reports", "IVR transfers executed"):
        assert label in text
    assert f"IVR transfer amount (yuan) {amount}" in text
    assert "Callbacks per agent" in text and "IVR transfers refused by reason" in text
    book = load_workbook(io.BytesIO(client.get("/reports/monthly.xlsx", {"month": month}).content))
    summary = {row[0]: row[1:] for row in book.worksheets[0].iter_rows(values_only=True) if row and row[0]}
    assert Decimal(str(summary["IVR transfer amount (yuan)"][0])) == Decimal(amount)
    assert summary["Callbacks reached"][0] == reached
    assert summary["IVR transfers refused"][0] == 4
    assert book.sheetnames[-3:] == ["Callbacks per agent", "Verbal loss reports", "IVR transfers refused by reason"]


def test_the_page_reads_a_fixed_number_of_queries_whatever_the_rows(client_for, callbacks, ivr_transfers):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(make_staff(Role.ANALYST))
    counts = []
    for first in (yesterday(), today()):  # more rows / fewer rows
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/reports/service/", {"date_from": first, "date_to": today()}).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
