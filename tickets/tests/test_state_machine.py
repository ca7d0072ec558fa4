"""The work-order state machine: allowed transitions only, refusals change nothing, every change
is an event, and the rules of who may do what."""

import pytest
from django.utils import timezone

from core.errors import DomainError, Forbidden
from org.roles import Role
from tickets import errors
from tickets.models import (
    TRANSITIONS,
    Category,
    State,
    Ticket,
    TicketCallback,
    TicketCallbackStatus,
    TicketEvent,
    TicketExtension,
)
from tickets.services.calendar import calendar_day_set, calendar_year_set_complete
from tickets.services.contacts import ticket_create
from tickets.services.extensions import ticket_extension_decide, ticket_extension_request
from tickets.services.pauses import ticket_pause, ticket_resume
from tickets.services.workflow import (
    ticket_accept,
    ticket_callback,
    ticket_close,
    ticket_dispatch,
    ticket_merge,
    ticket_reply,
    ticket_review,
    ticket_withdraw,
)

from .conftest import local

pytestmark = pytest.mark.django_db

ALL_STATES = list(State.values)


def _fresh(ticket):
    return Ticket.objects.get(pk=ticket.pk)


def test_full_path_new_to_closed_with_history(staff, make_ticket, customer):
    analyst, agent, branch = staff[Role.ANALYST], staff[Role.AGENT], staff["unit_staff_b01"]
    ticket = make_ticket(State.NEW, customer=customer)
    ticket = ticket_dispatch(ticket=ticket, actor=analyst, unit_code="B01")
    assert ticket.state == State.DISPATCHED and ticket.due_at and ticket.unit.code == "B01"
    ticket = ticket_accept(ticket=ticket, actor=branch)
    ticket = ticket_reply(ticket=ticket, actor=branch, result="已向客户解释", resolved=True)
    assert ticket.state == State.REPLIED and ticket.replied_on_time is True
    assert TicketCallback.objects.get(ticket=ticket).status == TicketCallbackStatus.OPEN
    ticket = ticket_review(ticket=ticket, actor=analyst, accepted=True)
    assert ticket.state == State.CALLBACK_PENDING
    ticket = ticket_callback(ticket=ticket, actor=agent, satisfied=True, note="满意")
    assert ticket.state == State.CLOSED and ticket.satisfied is True and ticket.closed_at
    assert TicketCallback.objects.get(ticket=ticket).status == TicketCallbackStatus.DONE
    actions = list(TicketEvent.objects.filter(ticket=ticket).values_list("action", flat=True))
    assert actions == ["create", "dispatch", "accept", "reply", "review_accept", "callback"]
    dispatch = TicketEvent.objects.get(ticket=ticket, action="dispatch")
    assert dispatch.before["state"] == "new" and dispatch.after["state"] == "dispatched"
    assert dispatch.actor_username == "analyst" and dispatch.after["unit"] == "B01"


def test_closing_tells_the_customer_by_sms(staff, make_ticket, customer):
    from notifications.models import SmsOutbox

    ticket = make_ticket(State.REPLIED, customer=customer)
    ticket_callback(ticket=ticket, actor=staff[Role.AGENT], satisfied=True)
    sms = SmsOutbox.objects.get(phone=customer.mobile, kind=SmsOutbox.Kind.SERVICE)
    assert f"工单号{ticket.number}" in sms.text and "已办结" in sms.text


def test_a_contact_settled_during_the_call_is_not_texted(staff, make_ticket, customer):
    from notifications.models import SmsOutbox

    ticket = make_ticket(State.NEW, kind="consultation", category=Category.OTHER, customer=customer)
    ticket_close(ticket=ticket, actor=staff[Role.AGENT])
    assert not SmsOutbox.objects.filter(phone=customer.mobile).exists()


def test_not_satisfied_reopens_for_rework(staff, make_ticket):
    ticket = make_ticket(State.CALLBACK_PENDING)
    ticket = ticket_callback(ticket=ticket, actor=staff[Role.AGENT], satisfied=False, note="仍未到账")
    assert ticket.state == State.RETURNED and ticket.satisfied is False
    ticket = ticket_reply(ticket=ticket, actor=staff["unit_staff_b01"], result="已补记", resolved=True)
    assert ticket.state == State.REPLIED and ticket.reply_count == 2
    assert TicketCallback.objects.filter(ticket=ticket, status=TicketCallbackStatus.OPEN).count() == 1


def test_consultation_settled_on_the_phone_is_closed_directly(staff, make_ticket):
    ticket = make_ticket(State.NEW, kind="consultation", category=Category.OTHER)
    ticket = ticket_close(ticket=ticket, actor=staff[Role.AGENT])
    assert ticket.state == State.CLOSED


def _attempt(action: str, ticket, staff):
    analyst, branch, agent = staff[Role.ANALYST], staff["unit_staff_b01"], staff[Role.AGENT]
    calls = {
        "dispatch": lambda: ticket_dispatch(ticket=ticket, actor=analyst, unit_code="B02"),
        "accept": lambda: ticket_accept(ticket=ticket, actor=branch),
        "reply": lambda: ticket_reply(ticket=ticket, actor=branch, result="x", resolved=True),
        "review_accept": lambda: ticket_review(ticket=ticket, actor=analyst, accepted=True),
        "return": lambda: ticket_review(ticket=ticket, actor=analyst, accepted=False, note="x"),
        "callback_satisfied": lambda: ticket_callback(ticket=ticket, actor=agent, satisfied=True),
        "callback_not_satisfied": lambda: ticket_callback(ticket=ticket, actor=agent, satisfied=False),
        "close": lambda: ticket_close(ticket=ticket, actor=analyst),
        "withdraw": lambda: ticket_withdraw(ticket=ticket, actor=analyst, reason="x"),
    }
    return calls[action]()


# ``callback_satisfied_owed`` is ``callback_satisfied`` on a work order that owes money:
# tickets/tests/test_money_owed.py walks it.
TABLE_ACTIONS = [action for action in TRANSITIONS if action not in ("merge", "callback_satisfied_owed")]


@pytest.mark.parametrize("state", ALL_STATES)
@pytest.mark.parametrize("action", TABLE_ACTIONS)
def test_every_action_in_every_state_follows_the_transition_table(staff, make_ticket, state, action):
    ticket = make_ticket(state)
    events_before = TicketEvent.objects.filter(ticket=ticket).count()
    snapshot = Ticket.objects.filter(pk=ticket.pk).values().get()
    expected = TRANSITIONS[action].get(state)
    if state in (State.NEW, State.CLOSED, State.WITHDRAWN) and action in ("accept", "reply"):
        # Not dispatched to B01 (or finished): for its staff the work order is not in their unit.
        expected_error = (errors.TicketNotFound, errors.InvalidTransition)
    else:
        expected_error = errors.InvalidTransition
    if expected is None:
        with pytest.raises(expected_error):
            _attempt(action, ticket, staff)
        assert Ticket.objects.filter(pk=ticket.pk).values().get() == snapshot  # state unchanged
        assert TicketEvent.objects.filter(ticket=ticket).count() == events_before
    else:
        assert _attempt(action, ticket, staff).state == expected
        assert _fresh(ticket).state == expected


def test_invalid_transition_error_carries_the_409_code(make_ticket, staff):
    ticket = make_ticket(State.CLOSED)
    with pytest.raises(errors.InvalidTransition) as caught:
        ticket_close(ticket=ticket, actor=staff[Role.ANALYST])
    assert caught.value.status == 409 and caught.value.code == "invalid_transition"


def test_redispatch_to_the_same_unit_is_refused(make_ticket, staff):
    ticket = make_ticket(State.DISPATCHED)
    with pytest.raises(errors.InvalidTransition):
        ticket_dispatch(ticket=ticket, actor=staff[Role.ANALYST], unit_code="B01")


def test_dispatch_to_unknown_or_inactive_unit_is_refused(make_ticket, staff, branches):
    ticket = make_ticket(State.NEW)
    with pytest.raises(errors.UnknownUnit):
        ticket_dispatch(ticket=ticket, actor=staff[Role.ANALYST], unit_code="B99")
    branches[2].is_active = False
    branches[2].save()
    with pytest.raises(errors.UnknownUnit):
        ticket_dispatch(ticket=ticket, actor=staff[Role.ANALYST], unit_code="B03")
    assert _fresh(ticket).state == State.NEW


def test_reply_by_another_units_staff_is_not_found(make_ticket, staff):
    ticket = make_ticket(State.DISPATCHED, unit="B01")
    with pytest.raises(errors.TicketNotFound):
        ticket_reply(ticket=ticket, actor=staff["unit_staff_b02"], result="x", resolved=True)
    assert _fresh(ticket).state == State.DISPATCHED


def test_center_staff_cannot_reply_for_the_unit(make_ticket, staff):
    ticket = make_ticket(State.DISPATCHED)
    with pytest.raises(Forbidden):
        ticket_reply(ticket=ticket, actor=staff[Role.ANALYST], result="x", resolved=True)


def test_unit_staff_cannot_record_or_dispatch(staff, make_ticket):
    with pytest.raises(Forbidden):
        ticket_create(actor=staff["unit_staff_b01"], kind="complaint", category="fees", description="x")
    ticket = make_ticket(State.NEW)
    with pytest.raises(Forbidden):
        ticket_dispatch(ticket=ticket, actor=staff["unit_staff_b01"], unit_code="B01")


def test_received_time_in_the_future_is_refused(staff):
    with pytest.raises(errors.ReceivedInFuture):
        ticket_create(
            actor=staff[Role.AGENT],
            kind="complaint",
            category="fees",
            description="x",
            received_at=timezone.now() + timezone.timedelta(hours=1),
        )
    assert not Ticket.objects.exists()


def test_received_time_may_be_earlier_for_letters(staff):
    received = local(2026, 1, 5, 9, 0)
    ticket = ticket_create(
        actor=staff[Role.AGENT], kind="complaint", category="fees", description="来信", received_at=received
    )
    assert ticket.received_at == received


@pytest.mark.parametrize(
    ("field", "value", "code"), [("kind", "praise", "unknown_kind"), ("category", "x", "unknown_category")]
)
def test_unknown_kind_or_category_is_refused(staff, field, value, code):
    arguments = {"kind": "complaint", "category": "fees", field: value}
    with pytest.raises(DomainError) as caught:
        ticket_create(actor=staff[Role.AGENT], description="x", **arguments)
    assert caught.value.code == code


def test_due_time_is_set_on_dispatch_and_flagged_when_estimated(staff):
    analyst = staff[Role.ANALYST]
    ticket = ticket_create(
        actor=staff[Role.AGENT],
        kind="complaint",
        category=Category.ATM_MISPOST,
        description="ATM吞钞",
        received_at=local(2026, 9, 30, 10, 0),
        now=local(2026, 9, 30, 10, 5),
    )
    ticket = ticket_dispatch(ticket=ticket, actor=analyst, unit_code="B01", now=local(2026, 9, 30, 11, 0))
    assert ticket.due_at == local(2026, 10, 13, 23, 59, 59) and not ticket.due_estimated
    late = ticket_create(
        actor=staff[Role.AGENT],
        kind="complaint",
        category=Category.ATM_MISPOST,
        description="ATM吞钞",
        received_at=local(2026, 12, 28, 10, 0),
        now=local(2026, 12, 28, 10, 5),
    )
    late = ticket_dispatch(ticket=late, actor=analyst, unit_code="B01", now=local(2026, 12, 28, 11, 0))
    assert late.due_at == local(2027, 1, 4, 23, 59, 59) and late.due_estimated
    assert "2027" in TicketEvent.objects.get(ticket=late, action="dispatch").note


def test_publishing_a_year_recomputes_estimated_deadlines(staff):
    from datetime import date

    analyst, maintainer = staff[Role.ANALYST], staff[Role.MAINTAINER]
    ticket = ticket_create(
        actor=staff[Role.AGENT],
        kind="complaint",
        category=Category.ATM_MISPOST,
        description="x",
        received_at=local(2026, 12, 28, 10, 0),
        now=local(2026, 12, 28, 10, 5),
    )
    ticket_dispatch(ticket=ticket, actor=analyst, unit_code="B01", now=local(2026, 12, 28, 11, 0))
    calendar_day_set(actor=maintainer, day=date(2027, 1, 1), is_working_day=False, name="元旦")
    moved = calendar_year_set_complete(actor=maintainer, year=2027, complete=True)
    ticket = _fresh(ticket)
    assert moved == 1 and ticket.due_at == local(2027, 1, 5, 23, 59, 59) and not ticket.due_estimated
    assert TicketEvent.objects.filter(ticket=ticket, action="due_recompute").exists()


def _received_sept_first(staff):
    ticket = ticket_create(
        actor=staff[Role.AGENT],
        kind="complaint",
        category=Category.FEES,
        description="年费争议",
        received_at=local(2026, 9, 1, 10, 0),
        now=local(2026, 9, 1, 10, 5),
    )
    return ticket_dispatch(ticket=ticket, actor=staff[Role.ANALYST], unit_code="B01", now=local(2026, 9, 1, 11))


def test_unit_requests_an_extension_and_the_analyst_approves_it(staff, customer):
    from notifications.models import SmsOutbox

    ticket = _received_sept_first(staff)
    Ticket.objects.filter(pk=ticket.pk).update(customer=customer)
    assert ticket.due_at == local(2026, 9, 16, 23, 59, 59)
    extension = ticket_extension_request(
        ticket=ticket, actor=staff["unit_staff_b01"], days=15, reason="需调取监控", now=local(2026, 9, 10)
    )
    assert extension.status == "pending" and _fresh(ticket).due_at == local(2026, 9, 16, 23, 59, 59)
    ticket_extension_decide(extension=extension, actor=staff[Role.ANALYST], approve=True)
    ticket = _fresh(ticket)
    assert ticket.due_at == local(2026, 10, 8, 23, 59, 59) and ticket.extension_days == [15]
    sms = SmsOutbox.objects.get(phone=customer.mobile)
    assert "延长至10月8日" in sms.text


def test_second_extension_needs_the_director_and_a_third_is_refused(staff):
    ticket = _received_sept_first(staff)
    ticket_extension_request(ticket=ticket, actor=staff[Role.ANALYST], days=15, reason="复杂")
    second = ticket_extension_request(ticket=ticket, actor=staff[Role.ANALYST], days=30, reason="需总行审批")
    assert second.status == "pending" and second.stage == 2
    with pytest.raises(errors.HeadOfficeApprovalRequired):
        ticket_extension_decide(extension=second, actor=staff[Role.ANALYST], approve=True)
    ticket_extension_decide(extension=second, actor=staff[Role.DIRECTOR], approve=True)
    assert _fresh(ticket).due_at == local(2026, 11, 9, 23, 59, 59)
    with pytest.raises(errors.ExtensionLimitReached):
        ticket_extension_request(ticket=ticket, actor=staff[Role.DIRECTOR], days=1, reason="再延")


def test_extension_beyond_the_cap_is_refused(staff):
    ticket = _received_sept_first(staff)
    with pytest.raises(errors.ExtensionTooLong) as caught:
        ticket_extension_request(ticket=ticket, actor=staff["unit_staff_b01"], days=23, reason="x")
    assert caught.value.details["latest_due_date"] == "2026-10-08"
    assert not TicketExtension.objects.exists()


def test_only_one_pending_extension(staff):
    ticket = _received_sept_first(staff)
    ticket_extension_request(ticket=ticket, actor=staff["unit_staff_b01"], days=5, reason="x")
    with pytest.raises(errors.ExtensionPending):
        ticket_extension_request(ticket=ticket, actor=staff["unit_staff_b01"], days=5, reason="x")


def test_pause_for_appraisal_moves_the_due_time(staff):
    branch = staff["unit_staff_b01"]
    ticket = ticket_create(
        actor=staff[Role.AGENT],
        kind="complaint",
        category=Category.ATM_MISPOST,
        description="x",
        received_at=local(2026, 9, 30, 10, 0),
        now=local(2026, 9, 30, 10, 5),
    )
    ticket = ticket_dispatch(ticket=ticket, actor=staff[Role.ANALYST], unit_code="B01", now=local(2026, 9, 30, 11))
    ticket_pause(ticket=ticket, actor=branch, reason="等待司法鉴定", now=local(2026, 10, 9, 10, 0))
    with pytest.raises(errors.AlreadyPaused):
        ticket_pause(ticket=ticket, actor=branch, reason="again", now=local(2026, 10, 9, 11, 0))
    assert not _fresh(ticket).is_overdue(local(2026, 10, 14))  # paused: not overdue
    ticket = ticket_resume(ticket=ticket, actor=branch, now=local(2026, 10, 11, 9, 0))
    assert ticket.paused_days == 2 and ticket.due_at == local(2026, 10, 15, 23, 59, 59)
    with pytest.raises(errors.NotPaused):
        ticket_resume(ticket=ticket, actor=branch, now=local(2026, 10, 11, 9, 0))


def test_reply_while_paused_ends_the_pause(staff, make_ticket):
    ticket = make_ticket(State.IN_PROGRESS)
    ticket_pause(ticket=ticket, actor=staff["unit_staff_b01"], reason="鉴定")
    ticket = ticket_reply(ticket=ticket, actor=staff["unit_staff_b01"], result="鉴定完毕", resolved=True)
    assert ticket.paused_at is None and ticket.paused_days == 1


def test_merge_a_repeat_complaint(staff, make_ticket, customer):
    first = make_ticket(State.DISPATCHED, customer=customer)
    repeat = make_ticket(State.NEW, customer=customer)
    repeat = ticket_merge(ticket=repeat, actor=staff[Role.ANALYST], into=first)
    assert repeat.state == State.WITHDRAWN and repeat.merged_into_id == first.pk
    assert TicketEvent.objects.filter(ticket=first, action="merged_in").exists()


def test_merge_refusals(staff, make_ticket, customer):
    from tests.factories_banking import CustomerFactory

    first = make_ticket(State.DISPATCHED, customer=customer)
    with pytest.raises(errors.MergeNotAllowed):
        ticket_merge(ticket=first, actor=staff[Role.ANALYST], into=first)
    other = make_ticket(State.NEW, customer=CustomerFactory())
    with pytest.raises(errors.MergeNotAllowed):
        ticket_merge(ticket=other, actor=staff[Role.ANALYST], into=first)
    closed = make_ticket(State.CLOSED)
    with pytest.raises(errors.MergeNotAllowed):
        ticket_merge(ticket=make_ticket(State.NEW), actor=staff[Role.ANALYST], into=closed)


def test_replying_late_is_recorded_as_not_on_time(staff):
    ticket = _received_sept_first(staff)
    ticket = ticket_reply(
        ticket=ticket, actor=staff["unit_staff_b01"], result="x", resolved=True, now=local(2026, 9, 17, 9, 0)
    )
    assert ticket.replied_on_time is False
