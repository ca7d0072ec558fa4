"""Banking's reads for the IVR's hot path: single written-out statements over banking's tables.

The IVR reads an account or a registration on most steps of a call, so these are one statement
each (``core.rows``), returning plain model instances with no related objects loaded
ahead (anything else still loads lazily). The answers are ``banking.selectors``' answers;
``banking/tests/test_ivr_port.py`` holds them to the ORM's. They live here, with the tables, so a
banking column rename breaks banking's own tests first: the IVR (``ivr.banking_port``) only calls
them, and names no banking table.
"""

from __future__ import annotations

from typing import Any

from core import rows

from .models import Account, PhoneBankingRegistration

_ACCOUNT = '"banking_account"'
_REGISTRATION = '"banking_phonebankingregistration"'
_LINKED_JOIN = f'INNER JOIN "banking_linkedaccount" ON "banking_linkedaccount"."registration_id" = {_REGISTRATION}."id"'


def _row(model, where: str, params: list, **kwargs):
    found = rows.select_one(model, where, params, **kwargs)
    return found[0] if found is not None else None


def account_by_number(number: str) -> Account | None:
    return _row(Account, f'{_ACCOUNT}."number" = %s', [str(number).strip()])


def account_by_id(account_id: int | None) -> Account | None:
    if account_id is None:
        return None
    return _row(Account, f'{_ACCOUNT}."id" = %s', [account_id])


def _linked_registration(account: Account) -> PhoneBankingRegistration | None:
    """The first registration (by id) that links ``account``."""
    return _row(
        PhoneBankingRegistration,
        '"banking_linkedaccount"."account_id" = %s',
        [account.pk],
        join=_LINKED_JOIN,
        order_by=f'{_REGISTRATION}."id"',
    )


def registration_for_account(account: Account) -> PhoneBankingRegistration | None:
    """The registration whose registered account is ``account``, else the first one that links it
    (``banking.selectors.registration_for_account``); ``None`` outside phone banking."""
    registered = _row(PhoneBankingRegistration, f'{_REGISTRATION}."account_id" = %s', [account.pk])
    return registered if registered is not None else _linked_registration(account)


def _account_with_registration(where: str, params: list):
    """(account, its registration) in one statement when the account is a registered one (the
    login's case); a linked account's registration is looked up after."""
    found = rows.select_one(
        Account,
        where,
        params,
        join=f'LEFT OUTER JOIN {_REGISTRATION} ON {_REGISTRATION}."account_id" = {_ACCOUNT}."id"',
        extra=rows.columns(PhoneBankingRegistration),
    )
    if found is None:
        return None, None
    account, extra = found
    registration = rows.joined(PhoneBankingRegistration, extra)
    return account, registration if registration is not None else _linked_registration(account)


def account_with_registration_by_number(number: str):
    """``(account_by_number(number), registration_for_account(account))``; ``(None, None)``."""
    return _account_with_registration(f'{_ACCOUNT}."number" = %s', [str(number).strip()])


def account_with_registration_by_id(account_id: int | None):
    """``(account_by_id(account_id), registration_for_account(account))``; ``(None, None)``."""
    if account_id is None:
        return None, None
    return _account_with_registration(f'{_ACCOUNT}."id" = %s', [account_id])


def account_and_registration_join(
    *, account_id: str, registered_account_id: str, registration_when: str
) -> tuple[str, str]:
    """``(join, columns)`` for a caller's own one-row statement (the IVR's call look-up): outer
    joins reading the account whose id is the SQL expression ``account_id``, and the registration
    whose registered account is ``registered_account_id`` when ``registration_when`` holds —
    expressions over the caller's own table. ``joined_account_and_registration`` splits the
    columns read back."""
    join = (
        f'LEFT OUTER JOIN {_ACCOUNT} ON {_ACCOUNT}."id" = {account_id} '
        f'LEFT OUTER JOIN {_REGISTRATION} ON {_REGISTRATION}."account_id" = {registered_account_id} '
        f"AND {registration_when}"
    )
    return join, f"{rows.columns(Account)}, {rows.columns(PhoneBankingRegistration)}"


def joined_account_and_registration(extra: tuple) -> tuple[Any, Any]:
    """(account, registration) read by ``account_and_registration_join``'s columns, each possibly ``None``."""
    split = len(rows.names(Account))
    return rows.joined(Account, extra[:split]), rows.joined(PhoneBankingRegistration, extra[split:])
