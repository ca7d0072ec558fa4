"""The agent sees the SMS sent to the current caller in the screen-pop (issue 15 point 7): the
latest messages to the caller's number and to the identified customer's mobile, newest first, in
one query more than before whatever their number; the screen-pop's other keys stay as they were
(DESIGN.md §6). The accounts carry their 短信通 flag."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.models import AgentState
from banking.models import SmsNoticeSubscription
from calls.models import Call
from calls.selectors import screen_pop, screen_pop_payload
from calls.services import ivr_handoff
from notifications.models import SmsOutbox
from notifications.selectors_port import recent_for_phones
from notifications.services import sms_enqueue
from tests.factories_banking import AccountFactory, PassbookFactory

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db

OTHER_PHONE = "13700000088"  # the number the verified customer calls from (not their mobile)
POP_KEYS = {"call_id", "queue", "ani", "is_test", "ivr", "customer", "call"}


def _sms(phone: str, text: str, *, minutes_ago: int, kind: str = SmsOutbox.Kind.SERVICE) -> SmsOutbox:
    return sms_enqueue(phone=phone, kind=kind, text=text, created_at=timezone.now() - timedelta(minutes=minutes_ago))


@pytest.fixture
def card(db):
    return AccountFactory(opening_fen=100_000)


def _verified_call(committed, make_agent, card, *, call_id: str = "sp-1", ani: str = OTHER_PHONE):
    agent = make_agent("sp-agent", state=AgentState.READY)
    committed(
        ivr_handoff.call_enqueue_from_ivr,
        call_id=call_id,
        ani=ani,
        dnis="96123",
        queue="general",
        verified=True,
        customer_id=card.customer_id,
        account_id=card.pk,
        path=["main", "account", "agent"],
    )
    return agent, Call.objects.get(call_id=call_id)


def test_recent_for_phones_gives_the_latest_messages_newest_first_in_one_query(db):
    for n in range(7):
        _sms("13900000001", f"第{n}条", minutes_ago=60 - n)
    _sms("13900000002", "另一个号码", minutes_ago=1, kind=SmsOutbox.Kind.LOSS_REPORT)
    _sms("13900000003", "别人的", minutes_ago=0)
    with CaptureQueriesContext(connection) as captured:
        rows = recent_for_phones(["13900000001", "13900000002", ""], limit=5)
    assert len(captured) == 1
    assert [row["text"] for row in rows] == ["另一个号码", "第6条", "第5条", "第4条", "第3条"]
    first = rows[0]
    assert set(first) == {"id", "created_at", "kind", "kind_label", "status", "status_label", "text"}
    assert first["kind"] == "loss_report" and first["status"] == "pending" and first["kind_label"]
    with CaptureQueriesContext(connection) as captured:
        assert recent_for_phones(["", None], limit=5) == []  # type: ignore[list-item]
    assert len(captured) == 0


def test_the_screen_pop_lists_the_sms_to_the_callers_number_and_the_customers_mobile(committed, make_agent, card):
    agent, call = _verified_call(committed, make_agent, card)
    _sms(card.customer.mobile, "您尾号0001的账户支出100.00元", minutes_ago=5, kind=SmsOutbox.Kind.TRANSACTION_NOTICE)
    _sms(OTHER_PHONE, "您的口头挂失已受理", minutes_ago=3, kind=SmsOutbox.Kind.LOSS_REPORT)
    _sms("13900009999", "别人的短信", minutes_ago=1)
    pop = screen_pop(call, for_user=agent)
    assert set(pop) == POP_KEYS | {"sms"}  # the contract's keys unchanged, one added
    assert [m["text"] for m in pop["sms"]] == ["您的口头挂失已受理", "您尾号0001的账户支出100.00元"]
    assert pop["sms"][1]["kind"] == "transaction_notice"
    assert screen_pop_payload(call, for_user=agent)["sms"] == pop["sms"]  # the call.offered push


def test_the_screen_pop_api_carries_the_sms_and_an_unknown_caller_gets_theirs_too(committed, make_agent, as_user, card):
    agent, _call = _verified_call(committed, make_agent, card)
    _sms(OTHER_PHONE, "服务短信", minutes_ago=2)
    body = as_user(agent).get("/api/calls/sp-1/screen-pop/").json()
    assert [m["text"] for m in body["sms"]] == ["服务短信"] and body["customer"]["id"] == card.customer_id
    # A caller nobody knows: the messages to their number still show.
    committed(ivr_handoff.call_enqueue_from_ivr, call_id="sp-2", ani="13600000055", dnis="96123", queue="general")
    _sms("13600000055", "给陌生号码", minutes_ago=1)
    assert [m["text"] for m in screen_pop(Call.objects.get(call_id="sp-2"), for_user=agent)["sms"]] == ["给陌生号码"]


def test_the_sms_cost_the_screen_pop_one_query_whatever_their_number(committed, make_agent, card, monkeypatch):
    agent, call = _verified_call(committed, make_agent, card)

    def count() -> int:
        fresh = Call.objects.get(pk=call.pk)
        with CaptureQueriesContext(connection) as captured:
            screen_pop(fresh, for_user=agent)
        return len(captured)

    screen_pop(call, for_user=agent)  # warm the IVR titles' cache
    none = count()
    for n in range(8):
        _sms(card.customer.mobile, f"通知{n}", minutes_ago=n)
    many = count()
    assert many == none
    import notifications.selectors_port as port

    monkeypatch.setattr(port, "recent_for_phones", lambda phones, *, limit=5: [])
    assert count() == many - 1  # the SMS: one query, no more


def test_the_screen_pops_accounts_carry_their_sms_notice_flag_without_a_query_more(committed, make_agent, card):
    passbook = PassbookFactory(customer=card.customer)
    SmsNoticeSubscription.objects.create(account=card, phone=card.customer.mobile, active=True)
    agent, call = _verified_call(committed, make_agent, card)
    accounts = {a["id"]: a for a in screen_pop(call, for_user=agent)["customer"]["accounts"]}
    assert accounts[card.pk]["sms_notice"] is True and accounts[card.pk]["sms_notice_eligible"] is True
    assert accounts[passbook.pk]["sms_notice"] is False and accounts[passbook.pk]["sms_notice_eligible"] is False
    assert {"id", "number_masked", "kind", "status", "balance"} <= set(accounts[card.pk])


def test_the_outbox_still_refuses_a_text_with_a_full_card_number(card):
    with pytest.raises(ValueError):
        sms_enqueue(phone=card.customer.mobile, kind=SmsOutbox.Kind.SERVICE, text=f"卡号{card.number}")
    assert not SmsOutbox.objects.filter(phone=card.customer.mobile).exists()


def test_the_desktop_names_the_sms_kinds_and_statuses_in_the_pages_language(client_for, make_agent):
    html = client_for(make_agent("sp-desk")).get("/agent/desktop/").content.decode()
    assert 'id="sms-texts"' in html and 'data-sms-notice="' in html
    for code in SmsOutbox.Kind.values + SmsOutbox.Status.values:
        assert f'data-kind="{code}"' in html or f'data-status="{code}"' in html, code


@pytest.mark.postgres
def test_on_postgresql_the_sms_are_read_through_the_phone_index(on_postgres):
    """As in a real outbox: the caller's few messages among many others' (newer ones): walking the
    time index would read them all, the phone index reads the caller's only."""
    now = timezone.now()
    mine = [
        SmsOutbox(
            phone=phone,
            kind=SmsOutbox.Kind.SERVICE,
            text=f"{phone}第{n}条",
            created_at=now - timedelta(days=3, minutes=n),
        )
        for phone in ("13900000001", "13900000002")
        for n in range(12)
    ]
    others = [
        SmsOutbox(
            phone=f"1380000{n % 400:04d}",
            kind=SmsOutbox.Kind.SERVICE,
            text=f"第{n}条",
            created_at=now - timedelta(seconds=n),
        )
        for n in range(6000)
    ]
    SmsOutbox.objects.bulk_create(mine + others)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE notifications_smsoutbox")
    for phones in (["13900000001"], ["13900000001", "13900000002"]):
        with CaptureQueriesContext(connection) as captured:
            rows = recent_for_phones(phones, limit=5)
        assert len(captured) == 1 and len(rows) == 5
        assert all(row["text"].split("第")[0] in phones for row in rows)
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + captured.captured_queries[0]["sql"])
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "sms_phone_idx" in plan and "Seq Scan" not in plan, plan
