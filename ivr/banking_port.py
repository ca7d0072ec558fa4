"""The IVR's one door to the banking gateway (docs/banking-gateway.md).

Everything the call flow needs from banking goes through these functions, imported lazily so
the IVR app loads without the banking core and a core-banking adapter can stand behind the same
names. Refusals come back as ``core.errors.DomainError`` subclasses with stable codes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.utils import timezone


class WriteNeedsLock(Exception):  # noqa: N818 - a signal to the caller, not an error
    """A banking write was reached in a step run as read-only (``read_only()``): nothing was
    written; the caller runs the step again with the call locked, in one transaction with it."""


_read_only: ContextVar[bool] = ContextVar("ivr_banking_read_only", default=False)
# Within ``simulation(sandbox)`` (a test call): (the call's sandbox, the writes simulated so far).
_simulation: ContextVar[tuple[dict, list[str]] | None] = ContextVar("ivr_banking_simulation", default=None)
# Password verdicts of one event's read-only run, {(registration id, stored hash): right?}, so the
# locked run that follows does not hash the same digits against the same hash again.
_verdicts: ContextVar[dict | None] = ContextVar("ivr_password_verdicts", default=None)


@contextmanager
def event() -> Iterator[None]:
    """The scope of one event, which may run read-only first and then locked."""
    token = _verdicts.set({})
    try:
        yield
    finally:
        _verdicts.reset(token)


@contextmanager
def read_only() -> Iterator[None]:
    """Within: the writes below (transfer, loss report; a password check that has something to
    record) raise ``WriteNeedsLock`` before touching anything. Reads are unaffected."""
    token = _read_only.set(True)
    try:
        yield
    finally:
        _read_only.reset(token)


@contextmanager
def simulation(sandbox: dict) -> Iterator[list[str]]:
    """Within (a simulator's test call): the banking writes below run under the same rules and
    answer the same, but nothing is kept (``banking.services.simulation.simulate``); ``sandbox`` is the
    call's own record of what they would have changed. Yields the list of the writes simulated
    (``transfer``, ``loss_report``, ``password``), for the simulator's page."""
    done: list[str] = []
    token = _simulation.set((sandbox, done))
    try:
        yield done
    finally:
        _simulation.reset(token)


def _write() -> None:
    if _read_only.get():
        raise WriteNeedsLock()


def _run_write(name: str, service, **kwargs):
    """``service(**kwargs)``, or its simulation on a test call."""
    simulated = _simulation.get()
    if simulated is None:
        return service(**kwargs)
    sandbox, done = simulated
    done.append(name)
    from banking.services.simulation import simulate

    return simulate(service, sandbox=sandbox, **kwargs)


def _selectors():
    from banking import selectors

    return selectors


def _port():
    from banking import ivr_port

    return ivr_port


# The look-ups below run on most steps of a call: banking's single written-out statements
# (``banking.ivr_port``) returning plain rows. Same answers as ``banking.selectors``.


def account_by_number(number: str):
    return _port().account_by_number(number)


def account_by_id(account_id: int | None):
    return _port().account_by_id(account_id)


def account_of_call() -> tuple[str, str]:
    """``(join, columns)`` to read along with the call row (the IVR's call look-up, ``ivr.locks``)
    a verified call's account, or else the account logging in with its own registration: outer
    joins on ``"ivr_ivrcall"`` (banking writes them; the call's columns are the IVR's)."""
    return _port().account_and_registration_join(
        account_id='CASE WHEN "ivr_ivrcall"."verified" THEN "ivr_ivrcall"."account_id" '
        'ELSE "ivr_ivrcall"."login_account_id" END',
        registered_account_id='"ivr_ivrcall"."login_account_id"',
        registration_when='NOT "ivr_ivrcall"."verified"',
    )


def account_of_call_row(extra: tuple) -> tuple[Any, Any]:
    """(account, registration) read by ``account_of_call()``'s columns, each possibly ``None``."""
    return _port().joined_account_and_registration(extra)


def account_with_registration_by_number(number: str):
    """``(account_by_number(number), registration_for_account(account))``; ``(None, None)``."""
    return _port().account_with_registration_by_number(number)


def account_with_registration_by_id(account_id: int | None):
    """``(account_by_id(account_id), registration_for_account(account))``; ``(None, None)``."""
    return _port().account_with_registration_by_id(account_id)


def registration_for_account(account):
    """The registration whose registered account is ``account``, else the first one that links it
    (``banking.selectors.registration_for_account``); ``None`` outside phone banking."""
    return _port().registration_for_account(account)


def linked_account_by_code(registration, code: str):
    return _selectors().linked_account_by_code(registration, code)


def customer_id_of(account) -> int | None:
    return getattr(account, "customer_id", None)


def transfer_refusal(*, registration, from_account, to_account=None) -> str | None:
    """Banking's verdict before the amount is known: the code ``transfer_execute`` would refuse
    with on these rows now (``banking.services.transfers.transfer_refusal``), or ``None``."""
    from banking.services.transfers import transfer_refusal

    return transfer_refusal(registration=registration, from_account=from_account, to_account=to_account)


def is_retryable(exc: BaseException) -> bool:
    """A deadlock victim or serialization failure: the whole event may simply run again."""
    from banking.locks import is_retryable as retryable

    return retryable(exc)


def balance_yuan(account) -> str:
    """The balance of ``account`` as read in this step (the engine reads the account row afresh on
    every step, and again after a transfer), so no second query."""
    from banking.money import fen_to_yuan

    return fen_to_yuan(account.balance_fen)


def transactions(account, *, today: bool, limit: int) -> list[dict[str, Any]]:
    """``[{"ts", "amount", "balance", "memo"}]``, newest first, money as yuan strings."""
    from banking.money import fen_to_yuan

    selectors = _selectors()
    postings = selectors.today_transactions(account) if today else selectors.recent_transactions(account, n=limit)
    rows = []
    for posting in list(postings)[:limit]:
        rows.append(
            {
                "ts": timezone.localtime(posting.created_at).isoformat(timespec="seconds"),
                "amount": fen_to_yuan(posting.amount_fen),
                "balance": fen_to_yuan(posting.balance_after_fen),
                "memo": getattr(getattr(posting, "transaction", None), "memo", "") or "",
            }
        )
    return rows


def parse_amount(text: str) -> int:
    from banking.money import parse_amount as parse

    return parse(text)


def fen_to_yuan(fen: int) -> str:
    from banking.money import fen_to_yuan as convert

    return convert(fen)


def mask(account) -> str:
    from banking.masking import mask_number

    return mask_number(account.number, account.kind)


def mask_digits(text: str) -> str:
    """Keys as an operator may see them: long digit runs (card, account numbers) masked."""
    from banking.masking import mask_query

    return mask_query(text)


def password_verify(*, registration, password: str, call_id: str) -> bool:
    """The phone-banking password check (``banking.services.passwords.password_verify``). Read-only, a
    right password on a clean registration (read in this step) is accepted without a lock or a
    write; anything else is remembered and asks for the locked run."""
    from banking.services import passwords

    verdicts = _verdicts.get()
    key = (registration.pk, registration.password)
    if _read_only.get() and _simulation.get() is not None:
        raise WriteNeedsLock()  # a test call's verdict depends on its sandbox: always the full path
    if _read_only.get():
        accepted = passwords.password_accepted_as_read(registration, password)
        if accepted:
            return True
        if verdicts is not None:
            verdicts[key] = accepted is None  # None: right, but failures to reset or a lock to see
        raise WriteNeedsLock()
    known = (registration.password, verdicts[key]) if verdicts and key in verdicts else None
    return _run_write(
        "password",
        passwords.password_verify,
        registration=registration,
        password=password,
        channel="ivr",
        call_id=call_id,
        known=known,
    )


def transfer_key(call_id: str, seq: int) -> str:
    """The idempotency key of the transfer confirmed by event ``seq`` of call ``call_id``:
    ``ivr:{call_id}:{seq}``, or — for a call id too long for banking's keys (a SIP Call-ID of up
    to 128 characters) — ``ivr#{sha256 of the id}:{seq}`` (the ``#`` keeps the two forms apart)."""
    from banking.services.ledger import IDEMPOTENCY_KEY_MAX

    key = f"ivr:{call_id}:{seq}"
    if len(key) <= IDEMPOTENCY_KEY_MAX:
        return key
    return f"ivr#{hashlib.sha256(call_id.encode()).hexdigest()}:{seq}"


def transfer_execute(*, registration, from_account, to_account, amount: str, idempotency_key: str, call_id: str):
    from banking.services.transfers import transfer_execute

    _write()
    return _run_write(
        "transfer",
        transfer_execute,
        registration=registration,
        from_account=from_account,
        to_account=to_account,
        amount=amount,
        idempotency_key=idempotency_key,
        channel="ivr",
        call_id=call_id,
        memo="电话银行转账",
    )


def loss_report_register(*, account, password: str, call_id: str):
    from banking.services.loss_reports import loss_report_register

    _write()
    return _run_write(
        "loss_report",
        loss_report_register,
        account=account,
        verification="password",
        channel="ivr",
        call_id=call_id,
        password=password,
    )


def balance_after_transfer(account, txn) -> str:
    """The caller's balance once ``txn`` (``transfer_execute``'s answer, ``account`` its source)
    is posted: the service leaves it on ``account`` — also when simulated, where reading the row
    again would give the balance before. A replayed transfer moved nothing now: read it."""
    if getattr(txn, "replayed", False):
        account = account_by_id(account.pk)
    return balance_yuan(account)
