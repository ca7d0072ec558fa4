"""The IVR's one door to the banking gateway (docs/banking-gateway.md).

Everything the call flow needs from banking goes through these functions, imported lazily so
the IVR app loads without the banking core and a core-banking adapter can stand behind the same
names. Refusals come back as ``contactcenter.errors.DomainError`` subclasses with stable codes.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone


def _selectors():
    from banking import selectors

    return selectors


def _services():
    from banking import services

    return services


def account_by_number(number: str):
    return _selectors().account_by_number(number)


def account_by_id(account_id: int | None):
    if account_id is None:
        return None
    from banking.models import Account

    return Account.objects.filter(pk=account_id).first()


def registration_for_account(account):
    return _selectors().registration_for_account(account)


def linked_account_by_code(registration, code: str):
    return _selectors().linked_account_by_code(registration, code)


def customer_id_of(account) -> int | None:
    return getattr(account, "customer_id", None)


LOST_STATUSES = frozenset({"verbally_lost", "formally_lost"})


def is_lost(account) -> bool:
    return getattr(account, "status", "") in LOST_STATUSES


def is_retryable(exc: BaseException) -> bool:
    """A deadlock victim or serialization failure: the whole event may simply run again."""
    from banking.locks import is_retryable as retryable

    return retryable(exc)


def balance_yuan(account) -> str:
    from banking.money import fen_to_yuan

    return fen_to_yuan(_selectors().account_balance(account))


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
    return _services().password_verify(registration=registration, password=password, channel="ivr", call_id=call_id)


def transfer_execute(*, registration, from_account, to_account, amount: str, idempotency_key: str, call_id: str):
    return _services().transfer_execute(
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
    return _services().loss_report_register(
        account=account, verification="password", channel="ivr", call_id=call_id, password=password
    )
