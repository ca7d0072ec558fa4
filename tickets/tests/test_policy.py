"""The work-order page offers exactly what the services accept: for every role, every state (and
the sub-states of money, pauses and extensions) and every action, the page's ``available_actions``
hold the action if and only if the service, called with valid input, does it. Each service call
runs in a savepoint that is rolled back, so every call sees the same work order."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from core.errors import DomainError
from org.roles import Role
from tickets import policy, selectors
from tickets.errors import TicketNotFound
from tickets.models import Category, State, TicketExtension
from tickets.services.adjustments import (
    AdjustmentResult,
    ticket_adjustment_decide,
    ticket_adjustment_post,
    ticket_adjustment_waive,
)
from tickets.services.attachments import ticket_attachment_add
from tickets.services.contacts import ticket_customer_link
from tickets.services.extensions import ticket_extension_decide, ticket_extension_request
from tickets.services.pauses import ticket_pause, ticket_resume
from tickets.services.workflow import (
    ticket_accept,
    ticket_callback,
    ticket_chase,
    ticket_close,
    ticket_dispatch,
    ticket_merge,
    ticket_reply,
    ticket_review,
    ticket_withdraw,
)

pytestmark = pytest.mark.django_db

ACTORS = [*(role for role in Role.values if role != Role.UNIT_STAFF), "unit_staff_b01", "unit_staff_b02"]


class _RolledBack(Exception):
    pass


def _accepted(run) -> bool:
    """Whether the service does it: ``run`` completes (then its writes are rolled back)."""
    try:
        with transaction.atomic():
            result = run()
            if isinstance(result, AdjustmentResult) and not result.created:
                return False  # a repeat finds the first adjustment: nothing is done
            raise _RolledBack
    except _RolledBack:
        return True
    except DomainError:
        return False


def _pending(ticket):
    return TicketExtension.objects.filter(ticket=ticket, status="pending").first()


def _variants(ticket, into, other_customer):
    """Page action → the service calls (valid input) it stands for; each must agree with the page."""
    other_unit = "B02" if ticket.unit_id and ticket.unit.code == "B01" else "B01"
    account = ticket.customer.accounts.first() if ticket.customer_id else None
    extension = _pending(ticket)

    def decide(approve):
        if extension is None:
            return []  # nothing to decide: the service cannot even be asked
        return [lambda u: ticket_extension_decide(extension=extension, actor=u, approve=approve, note="理由")]

    def upload():
        return SimpleUploadedFile("scan.pdf", b"%PDF-1.4 evidence", "application/pdf")

    return {
        "dispatch": [lambda u: ticket_dispatch(ticket=ticket, actor=u, unit_code=other_unit)],
        "accept": [lambda u: ticket_accept(ticket=ticket, actor=u)],
        "reply": [lambda u: ticket_reply(ticket=ticket, actor=u, result="已处理", resolved=True)],
        "review": [lambda u: ticket_review(ticket=ticket, actor=u, accepted=True)],
        "return": [lambda u: ticket_review(ticket=ticket, actor=u, accepted=False, note="请补充")],
        "callback": [
            lambda u: ticket_callback(ticket=ticket, actor=u, satisfied=True),
            lambda u: ticket_callback(ticket=ticket, actor=u, satisfied=False, note="不满意"),
        ],
        "close": [lambda u: ticket_close(ticket=ticket, actor=u)],
        "withdraw": [lambda u: ticket_withdraw(ticket=ticket, actor=u, reason="重复")],
        "merge": [lambda u: ticket_merge(ticket=ticket, actor=u, into=into)],
        "chase": [lambda u: ticket_chase(ticket=ticket, actor=u, note="请尽快")],
        "attach": [lambda u: ticket_attachment_add(ticket=ticket, actor=u, upload=upload())],
        "pause": [lambda u: ticket_pause(ticket=ticket, actor=u, reason="等待鉴定")],
        "resume": [lambda u: ticket_resume(ticket=ticket, actor=u)],
        "extend": [lambda u: ticket_extension_request(ticket=ticket, actor=u, days=1, reason="复杂")],
        "decide": decide(False),
        "approve_extension": decide(True),
        "adjust": [lambda u: ticket_adjustment_post(ticket=ticket, actor=u, account=account)],
        "decide_adjustment": [
            lambda u: ticket_adjustment_decide(ticket=ticket, actor=u, approve=True),
            lambda u: ticket_adjustment_decide(ticket=ticket, actor=u, approve=False, note="金额有误"),
        ],
        "waive": [lambda u: ticket_adjustment_waive(ticket=ticket, actor=u, reason="已现金退还")],
        "link_customer": [lambda u: ticket_customer_link(ticket=ticket, actor=u, customer=other_customer)],
    }


def _with_extension(make_ticket, staff, *, approved_before=0, then_reply=False, pending=True):
    ticket = make_ticket(State.DISPATCHED)
    for _ in range(approved_before):  # the director's requests are approved at once
        ticket_extension_request(ticket=ticket, actor=staff[Role.DIRECTOR], days=1, reason="复杂")
    if pending:
        ticket_extension_request(ticket=ticket, actor=staff["unit_staff_b01"], days=1, reason="复杂")
    if then_reply:
        ticket_reply(ticket=ticket, actor=staff["unit_staff_b01"], result="已处理", resolved=True)
    return ticket


def _money(make_ticket, staff, customer, state, *, fen=20_000, then=None):
    ticket = make_ticket(State.DISPATCHED, category=Category.ATM_MISPOST, customer=customer)
    ticket = ticket_reply(
        ticket=ticket, actor=staff["unit_staff_b01"], result="核实长款", resolved=True, adjustment_fen=fen
    )
    if state == State.CALLBACK_PENDING:
        ticket = ticket_review(ticket=ticket, actor=staff[Role.ANALYST], accepted=True)
    if state == State.AWAITING_ADJUSTMENT:
        ticket = ticket_callback(ticket=ticket, actor=staff[Role.AGENT], satisfied=True)
    if then == "post":
        ticket_adjustment_post(ticket=ticket, actor=staff[Role.ANALYST], account=customer.accounts.first())
    if then == "waive":
        ticket_adjustment_waive(ticket=ticket, actor=staff[Role.ANALYST], reason="已现金退还")
    return ticket


CASES = {
    **{state: lambda mk, staff, customer, state=state: mk(state) for state in State.values},
    "paused": lambda mk, staff, customer: ticket_pause(
        ticket=mk(State.IN_PROGRESS), actor=staff["unit_staff_b01"], reason="等待鉴定"
    ),
    "extension_pending": lambda mk, staff, customer: _with_extension(mk, staff),
    "extension_stage_2_pending": lambda mk, staff, customer: _with_extension(mk, staff, approved_before=1),
    "extension_pending_replied": lambda mk, staff, customer: _with_extension(mk, staff, then_reply=True),
    "extensions_used_up": lambda mk, staff, customer: _with_extension(mk, staff, approved_before=2, pending=False),
    "owed_replied": lambda mk, staff, customer: _money(mk, staff, customer, State.REPLIED),
    "owed_callback_pending": lambda mk, staff, customer: _money(mk, staff, customer, State.CALLBACK_PENDING),
    "owed_awaiting_adjustment": lambda mk, staff, customer: _money(mk, staff, customer, State.AWAITING_ADJUSTMENT),
    "owed_without_customer": lambda mk, staff, customer: _money(mk, staff, None, State.REPLIED),
    "owed_pending_approval": lambda mk, staff, customer: _money(
        mk, staff, customer, State.REPLIED, fen=6_000_000, then="post"
    ),
    "adjustment_posted": lambda mk, staff, customer: _money(mk, staff, customer, State.REPLIED, then="post"),
    "adjustment_waived": lambda mk, staff, customer: _money(mk, staff, customer, State.REPLIED, then="waive"),
}

# The page's forms post to ``/do/<name>/``: the return-only form posts to ``review``, the approve
# button of an extension to ``decide``.
FORM_OF = {"return": "review", "approve_extension": "decide"}


def _offered(user, ticket_id) -> set[str]:
    """What the work-order page offers ``user`` (a work order out of scope is a 404: nothing)."""
    try:
        return policy.available_actions(user, selectors.ticket_detail(user=user, ticket_id=ticket_id))
    except TicketNotFound:
        return set()


@pytest.mark.parametrize("case", CASES)
def test_page_offers_exactly_what_the_services_accept(case, staff, make_ticket, customer, client_for):
    from tests.factories_banking import AccountFactory

    ticket = CASES[case](make_ticket, staff, customer)
    into = make_ticket(State.NEW)
    other_customer = AccountFactory().customer
    variants = _variants(ticket, into, other_customer)
    assert set(variants) == set(policy.PAGE_ACTION_RULES), "every page action is walked"
    disagreements = []
    for actor in ACTORS:
        user = staff[actor]
        offered = _offered(user, ticket.pk)
        for action, calls in variants.items():
            accepted = [_accepted(lambda call=call, user=user: call(user)) for call in calls] or [False]
            for number, done in enumerate(accepted):
                if done != (action in offered):
                    disagreements.append(f"{actor} {action}#{number}: page {action in offered}, service {done}")
        if actor in policy.READERS or actor.startswith("unit_staff"):
            html = client_for(user).get(f"/tickets/{ticket.pk}/").content.decode()
            forms = set(re.findall(rf'action="/tickets/{ticket.pk}/do/(\w+)/"', html))
            assert forms == {FORM_OF.get(action, action) for action in offered}, (actor, forms, offered)
    assert not disagreements, "\n".join(disagreements)


def test_the_walk_sees_a_rule_the_page_would_get_wrong(staff, make_ticket, monkeypatch):
    """The walk can fail: a page rule that forgets the pending extension disagrees with the service."""
    ticket = _with_extension(make_ticket, staff)
    monkeypatch.setitem(policy.PAGE_ACTION_RULES, "extend", lambda user, t: None)
    user = staff["unit_staff_b01"]
    assert "extend" in _offered(user, ticket.pk)
    call = _variants(ticket, make_ticket(State.NEW), None)["extend"][0]
    assert not _accepted(lambda: call(user))
