"""Staff notices by SMS: each reminder and escalation of a work order is also queued as an SMS
(kind ``staff_notice``) to those of its recipients who have a mobile in their profile — in the
escalation's transaction, so once per deadline even when two sweeps race — with a short Chinese
text that names the work order, never the customer."""

import string
from datetime import timedelta

import pytest
from django.utils import translation

from notifications.models import SmsOutbox
from org.models import StaffProfile
from org.roles import Role
from tests.factories import make_staff
from tickets.models import Category, EscalationKind, TicketEscalation, TicketEvent
from tickets.services.contacts import ticket_create
from tickets.services.escalation import tickets_escalate
from tickets.services.workflow import ticket_dispatch
from tickets.staff_sms import STAFF_OVERDUE_DIRECTOR, STAFF_OVERDUE_HEAD, STAFF_REMINDER

from .conftest import local

pytestmark = pytest.mark.django_db

SIGNATURE = "【农合银行】"
BRANCH01_MOBILE = "13700000001"
HEAD_MOBILE = "13700000009"
DIRECTOR_MOBILE = "13700000002"
BRANCH02_MOBILE = "13700000003"

REMIND_AT = local(2026, 10, 13, 9, 0)  # the due time is 2026-10-13 23:59:59: within the day before
OVERDUE_AT = local(2026, 10, 14, 0, 30)


def _mobile(user, mobile: str) -> None:
    StaffProfile.objects.filter(user=user).update(mobile=mobile)


def staff_sms() -> list[tuple[str, str]]:
    return sorted(SmsOutbox.objects.filter(kind=SmsOutbox.Kind.STAFF_NOTICE).values_list("phone", "text"))


@pytest.fixture(autouse=True)
def signature(settings):
    settings.BANKING_SMS_SIGNATURE = SIGNATURE


@pytest.fixture
def people(staff, branches):
    """B01: its staff branch01 (mobile), a colleague without one, a head with one; the director with
    one; B02's staff (mobile) must never hear of B01's work orders."""
    head = make_staff(Role.UNIT_STAFF, unit=branches[0], username="head01")
    colleague = make_staff(Role.UNIT_STAFF, unit=branches[0], username="branch01b")
    branches[0].head = head
    branches[0].save()
    _mobile(staff["unit_staff_b01"], BRANCH01_MOBILE)
    _mobile(head, HEAD_MOBILE)
    _mobile(staff[Role.DIRECTOR], DIRECTOR_MOBILE)
    _mobile(staff["unit_staff_b02"], BRANCH02_MOBILE)
    return {"head": head, "colleague": colleague, **staff}


def _due_ticket(staff, **kwargs):
    ticket = ticket_create(
        actor=staff[Role.AGENT],
        kind="complaint",
        category=Category.ATM_MISPOST,
        description="客户在ATM取款未出钞",
        received_at=local(2026, 9, 30, 10, 0),
        now=local(2026, 9, 30, 10, 5),
        **kwargs,
    )
    return ticket_dispatch(ticket=ticket, actor=staff[Role.ANALYST], unit_code="B01", now=local(2026, 9, 30, 11))


@pytest.fixture
def due_ticket(people):
    return _due_ticket(people)


def test_reminder_is_texted_to_the_units_staff_with_a_mobile_only(due_ticket, people):
    assert tickets_escalate(now=REMIND_AT)["reminder"] == 1
    reminder = TicketEscalation.objects.get(kind=EscalationKind.REMINDER)
    assert reminder.recipients == ["branch01", "branch01b", "head01"]  # the in-app recipients are unchanged
    number = due_ticket.number
    text = f"{SIGNATURE}工单{number}（ATM错账处理）将于10月13日23:59到期，请及时处理。"
    # branch01b has no mobile; B02's staff and the director are not recipients of a reminder.
    assert staff_sms() == [(BRANCH01_MOBILE, text), (HEAD_MOBILE, text)]
    event = TicketEvent.objects.get(ticket=due_ticket, action="escalation_reminder")
    assert event.after["to"] == ["branch01", "branch01b", "head01"]
    assert event.after["sms_to"] == ["branch01", "head01"]


def test_overdue_is_texted_to_the_head_and_the_director_once_per_deadline(due_ticket, people):
    tickets_escalate(now=REMIND_AT)
    SmsOutbox.objects.all().delete()
    counts = tickets_escalate(now=OVERDUE_AT)
    assert counts == {"reminder": 0, "overdue_head": 1, "overdue_director": 1}
    number = due_ticket.number
    assert staff_sms() == [
        (
            DIRECTOR_MOBILE,
            f"{SIGNATURE}工单{number}（ATM错账处理）已超期未办结（{due_ticket.unit.name}，时限10月13日23:59）。",
        ),
        (HEAD_MOBILE, f"{SIGNATURE}工单{number}（ATM错账处理）已超期（时限10月13日23:59），请督办。"),
    ]
    head_event = TicketEvent.objects.get(ticket=due_ticket, action="escalation_overdue_head")
    director_event = TicketEvent.objects.get(ticket=due_ticket, action="escalation_overdue_director")
    assert head_event.after["sms_to"] == ["head01"] and director_event.after["sms_to"] == ["director"]
    # The sweep runs again and again: the same breach is not texted twice.
    for hours in range(1, 4):
        assert sum(tickets_escalate(now=OVERDUE_AT + timedelta(hours=hours)).values()) == 0
    assert SmsOutbox.objects.filter(kind=SmsOutbox.Kind.STAFF_NOTICE).count() == 2


def test_no_sms_to_a_recipient_without_a_mobile_or_inactive(due_ticket, people):
    _mobile(people["head"], "")
    director = people[Role.DIRECTOR]
    director.is_active = False
    director.save()
    tickets_escalate(now=OVERDUE_AT)
    assert TicketEscalation.objects.get(kind=EscalationKind.OVERDUE_HEAD).recipients == ["head01"]
    assert staff_sms() == []
    head_event = TicketEvent.objects.get(ticket=due_ticket, action="escalation_overdue_head")
    assert head_event.after["to"] == ["head01"] and head_event.after["sms_to"] == []


def test_two_accounts_with_one_phone_get_one_sms(due_ticket, people):
    _mobile(people["colleague"], BRANCH01_MOBILE)
    tickets_escalate(now=REMIND_AT)
    assert [phone for phone, _text in staff_sms()] == [BRANCH01_MOBILE, HEAD_MOBILE]
    event = TicketEvent.objects.get(ticket=due_ticket, action="escalation_reminder")
    assert event.after["sms_to"] == ["branch01", "branch01b", "head01"]


def test_texts_carry_no_customer_data_and_are_chinese_in_any_language(people, customer):
    account = customer.accounts.first()
    with translation.override("en"):
        ticket = _due_ticket(people, customer=customer, account=account, caller_number="13911112222")
        tickets_escalate(now=REMIND_AT)
        tickets_escalate(now=OVERDUE_AT)
    texts = [text for _phone, text in staff_sms()]
    assert len(texts) == 4  # reminder to branch01 and head01, overdue to head01 and the director
    for text in texts:
        assert f"工单{ticket.number}（ATM错账处理）" in text
        for secret in (customer.name, customer.mobile, account.number, "尾号", "13911112222", "ATM取款"):
            assert secret not in text
        assert "mis-posting" not in text


def test_the_templates_name_only_the_work_order():
    for template in (STAFF_REMINDER, STAFF_OVERDUE_HEAD, STAFF_OVERDUE_DIRECTOR):
        fields = {name for _literal, name, _spec, _conv in string.Formatter().parse(template) if name}
        assert fields <= {"signature", "ticket_number", "category", "due", "unit"}


def test_a_failing_enqueue_rolls_back_the_escalation(due_ticket, people, monkeypatch):
    """The SMS and the escalation are one transaction: no escalation recorded without its SMS."""
    import notifications.services

    def refuse(**kwargs):
        raise ValueError("refused")

    monkeypatch.setattr(notifications.services, "sms_enqueue", refuse)
    with pytest.raises(ValueError, match="refused"):
        tickets_escalate(now=REMIND_AT)
    assert not TicketEscalation.objects.exists()
    assert not TicketEvent.objects.filter(action__startswith="escalation_").exists()


def test_the_work_order_page_tells_who_got_an_sms(due_ticket, people, client_for):
    tickets_escalate(now=OVERDUE_AT)
    client = client_for(people[Role.ANALYST])
    client.cookies["django_language"] = "en"
    page = client.get(f"/tickets/{due_ticket.pk}/").content.decode()
    assert "also by SMS to: head01" in page and "also by SMS to: director" in page
    assert HEAD_MOBILE not in page and DIRECTOR_MOBILE not in page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_text_once(staff, branches):
    import threading

    from django.db import connection

    branches[0].head = staff["unit_staff_b01"]
    branches[0].save()
    _mobile(staff["unit_staff_b01"], BRANCH01_MOBILE)
    _mobile(staff[Role.DIRECTOR], DIRECTOR_MOBILE)
    ticket = ticket_create(
        actor=staff[Role.AGENT],
        kind="complaint",
        category=Category.FEES,
        description="x",
        received_at=local(2026, 1, 5, 9),
    )
    ticket_dispatch(ticket=ticket, actor=staff[Role.ANALYST], unit_code="B01")
    barrier = threading.Barrier(4)
    errors = []

    def sweep():
        try:
            barrier.wait()
            tickets_escalate()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert TicketEscalation.objects.filter(ticket=ticket).count() == 2
    assert sorted(SmsOutbox.objects.filter(kind=SmsOutbox.Kind.STAFF_NOTICE).values_list("phone", flat=True)) == [
        BRANCH01_MOBILE,
        DIRECTOR_MOBILE,
    ]
