"""Differential test: the PL/pgSQL transfer function and the Python path agree on every state.

Hypothesis draws a ledger state (statuses, balances, links, SMS-notice subscriptions, a locked
registration, earlier transfers today and yesterday, a transaction already under the request's
key) and a request; both paths run on that same state, each in a savepoint rolled back after,
and must give the same outcome (code and details, or the transaction and balances) and write
the same rows (ledger transactions, postings, balances, registrations, account events, loss
reports, audit events, SMS outbox rows and their texts). Ids and times are compared relative
to the run (sequences are not rolled back; the function reads the database clock).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from banking.models import Account, LedgerTransaction
from banking.services import transfers
from banking.services.common import params_fingerprint
from core.errors import DomainError
from tests.factories_banking import AccountFactory, PassbookFactory, phone_banking

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 15, 14, 30, 5, tzinfo=SHANGHAI)  # seconds in: the SMS minute cannot roll over
PER_TRANSFER_FEN = 10_000
DAILY_FEN = 15_000
TABLES = (
    "banking_ledgertransaction",
    "banking_posting",
    "banking_account",
    "banking_phonebankingregistration",
    "banking_linkedaccount",
    "banking_smsnoticesubscription",
    "banking_accountevent",
    "banking_lossreport",
    "audit_auditevent",
    "notifications_smsoutbox",
)
# Columns holding another new row's id, by table: compared as the referenced row's position.
REFERENCES = {"banking_posting": {"transaction_id": "banking_ledgertransaction"}}
SMS_REFERENCES = {"related_posting_id": "banking_posting"}
STATUSES = st.sampled_from(Account.Status.values)
KEY = "diff-key"
_SQL_EARLIER_TRANSACTION = (
    "INSERT INTO banking_ledgertransaction (kind, idempotency_key, request_fingerprint, registration_id, amount_fen, "
    "channel, call_id, memo, created_at) VALUES ('transfer', %s, %s, %s, %s, 'ivr', '', '', %s)"
)


@pytest.fixture
def universe(db, settings, monkeypatch):
    """One customer's registration with its card, a second card, two passbooks, and another
    customer's card: the accounts a request picks from (links and states come per example)."""
    settings.BANKING_TRANSFER_LIMIT_FEN = PER_TRANSFER_FEN
    settings.BANKING_DAILY_LIMIT_FEN = DAILY_FEN
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    pb = phone_banking(card_fen=0, linked_fen=())
    second_card = AccountFactory(customer=pb.customer)
    passbooks = [PassbookFactory(customer=pb.customer) for _ in range(2)]
    stranger = AccountFactory()
    accounts = [pb.card, second_card, *passbooks, stranger]
    return pb.registration, accounts


def _mostly(usual, *rare):
    """``usual`` about seven times in eight, else one of ``rare``, so that many draws post
    (``one_of`` leans to its simpler branches; a middle value of a small range does not)."""
    return st.integers(0, 7).flatmap(lambda n: st.one_of(*rare) if n == 3 else usual)


def _state():
    money = _mostly(st.integers(2_000, 40_000), st.sampled_from([0, 1, PER_TRANSFER_FEN]))
    return st.fixed_dictionaries(
        {
            "statuses": st.lists(_mostly(st.just(Account.Status.ACTIVE), STATUSES), min_size=5, max_size=5),
            "balances": st.lists(money, min_size=5, max_size=5),
            "linked": st.lists(_mostly(st.just(True), st.just(False)), min_size=4, max_size=4),  # accounts 1..4
            "sms": st.lists(
                _mostly(st.just("active"), st.sampled_from(["none", "inactive", "no_phone"])), min_size=5, max_size=5
            ),
            "locked": _mostly(st.just(False), st.just(True)),
            # Earlier transfers of this registration (today's count towards the daily limit).
            "earlier": _mostly(
                st.lists(
                    st.tuples(st.integers(1_000, 10_000), _mostly(st.just("today"), st.just("yesterday"))),
                    min_size=1,
                    max_size=2,
                ),
                st.lists(st.tuples(st.integers(1, 10_000), st.just("midnight")), max_size=1),
            ),
            "existing_key": _mostly(st.just("none"), st.sampled_from(["same", "other"])),
            "from": st.integers(0, 4),
            "to_offset": _mostly(st.integers(1, 4), st.just(0)),  # the target: account (from + offset) % 5
            # The amount as drawn, or at a boundary: the source's whole balance or today's rest.
            "amount_at": st.sampled_from(["drawn", "drawn", "balance", "balance+1", "daily_rest", "daily_rest+1"]),
            "amount_fen": _mostly(
                st.integers(1, 2_000),
                st.integers(1, 30_000),
                st.sampled_from([PER_TRANSFER_FEN, PER_TRANSFER_FEN + 1, DAILY_FEN]),
            ),
        }
    )


def _apply(state, registration, accounts) -> dict:
    """Write ``state`` (inside the caller's savepoint); the request's keyword arguments."""
    day_start = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
    with connection.cursor() as cursor:
        for account, status, balance in zip(accounts, state["statuses"], state["balances"], strict=True):
            cursor.execute(
                "UPDATE banking_account SET status = %s, balance_fen = %s WHERE id = %s", [status, balance, account.pk]
            )
        for account, linked in zip(accounts[1:], state["linked"], strict=True):
            if linked:
                cursor.execute(
                    "INSERT INTO banking_linkedaccount (registration_id, account_id, code, created_at) "
                    "VALUES (%s, %s, %s, %s)",
                    [registration.pk, account.pk, f"{account.pk % 90 + 10}", NOW],
                )
        for account, sms in zip(accounts, state["sms"], strict=True):
            if sms != "none":
                cursor.execute(
                    "INSERT INTO banking_smsnoticesubscription (account_id, phone, active, created_at) "
                    "VALUES (%s, %s, %s, %s)",
                    [account.pk, "" if sms == "no_phone" else "13900000000", sms != "inactive", NOW],
                )
        cursor.execute(
            "UPDATE banking_phonebankingregistration SET locked = %s WHERE id = %s", [state["locked"], registration.pk]
        )
        moments = {
            "today": NOW - timedelta(hours=3),
            "yesterday": day_start - timedelta(hours=2),
            "midnight": day_start,
        }
        for index, (amount, when) in enumerate(state["earlier"]):
            cursor.execute(
                _SQL_EARLIER_TRANSACTION,
                [f"earlier-{index}", "", registration.pk, amount, moments[when]],
            )
    source, target = accounts[state["from"]], accounts[(state["from"] + state["to_offset"]) % len(accounts)]
    spent_today = sum(amount for amount, when in state["earlier"] if when != "yesterday")
    amount_fen = {
        "drawn": state["amount_fen"],
        "balance": state["balances"][state["from"]],
        "balance+1": state["balances"][state["from"]] + 1,
        "daily_rest": DAILY_FEN - spent_today,
        "daily_rest+1": DAILY_FEN - spent_today + 1,
    }[state["amount_at"]]
    amount_fen = max(amount_fen, 1)  # transfer_execute refuses the rest before either path
    fingerprint = params_fingerprint(
        {
            "kind": LedgerTransaction.Kind.TRANSFER,
            "registration": registration.pk,
            "from": source.pk,
            "to": target.pk,
            "amount_fen": amount_fen,
        }
    )
    if state["existing_key"] != "none":
        with connection.cursor() as cursor:
            cursor.execute(
                _SQL_EARLIER_TRANSACTION,
                [
                    KEY,
                    fingerprint if state["existing_key"] == "same" else "other",
                    registration.pk,
                    7,
                    NOW - timedelta(1),
                ],
            )
    registration.refresh_from_db()
    return {
        "registration": registration,
        "from_id": source.pk,
        "to_id": target.pk,
        "amount_fen": amount_fen,
        "key": KEY,
        "fingerprint": fingerprint,
        "channel": "ivr",
        "call_id": "call-1",
        "actor": None,
        "memo": transfers.DEFAULT_TRANSFER_MEMO,
    }


def _snapshot() -> dict[str, dict[int, dict]]:
    tables = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f'SELECT * FROM "{table}" ORDER BY id')  # noqa: S608 - fixed table names
            names = [column.name for column in cursor.description]
            tables[table] = {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    return tables


def _normalize_time(value):
    if isinstance(value, datetime) and abs(value - NOW) < timedelta(seconds=30):
        return "NOW"
    return value


def _changes(before, after) -> dict:
    """What a run wrote: per table, changed rows by id and new rows in order (ids as positions)."""
    positions = {
        table: {pk: index for index, pk in enumerate(sorted(set(after[table]) - set(before[table])))}
        for table in TABLES
    }
    changes = {}
    for table in TABLES:
        old, new = before[table], after[table]
        changed = {pk: row for pk, row in new.items() if pk in old and row != old[pk]}
        removed = sorted(set(old) - set(new))
        added = []
        for pk in sorted(positions[table]):
            row = {name: _normalize_time(value) for name, value in new[pk].items() if name != "id"}
            references = REFERENCES.get(table, {}) | (SMS_REFERENCES if table == "notifications_smsoutbox" else {})
            for column, target in references.items():
                if row.get(column) in positions[target]:
                    row[column] = ("new", target, positions[target][row[column]])
            added.append(row)
        changes[table] = {"changed": changed, "removed": removed, "added": added}
    return changes


def _run(path, kwargs):
    before = _snapshot()
    sid = transaction.savepoint()
    try:
        try:
            txn, from_balance, to_balance = path(**kwargs)
        except DomainError as error:
            outcome = ("refused", error.code, error.details)
        else:
            fields = {field.attname: getattr(txn, field.attname) for field in LedgerTransaction._meta.concrete_fields}
            if not txn.replayed:
                fields["id"] = "new"
            outcome = ("replayed" if txn.replayed else "posted", _normalize_time(fields.pop("created_at")), fields)
            outcome += (from_balance, to_balance)
        return outcome, _changes(before, _snapshot())
    finally:
        transaction.savepoint_rollback(sid)


@pytest.fixture
def both_paths():
    """``(run on PostgreSQL's function, run on the Python path)`` of one request."""

    def run(kwargs):
        return _run(transfers._transfer_in_database, kwargs), _run(transfers._transfer_in_python, kwargs)

    return run


@hypothesis_settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=False,
)
@given(state=_state())
def test_the_database_function_and_the_python_path_agree(universe, both_paths, state):
    registration, accounts = universe
    sid = transaction.savepoint()  # the state of this example only
    try:
        kwargs = _apply(state, registration, accounts)
        in_database, in_python = both_paths(kwargs)
    finally:
        transaction.savepoint_rollback(sid)
    event(f"outcome: {in_python[0][0]} {in_python[0][1] if in_python[0][0] == 'refused' else ''}")
    assert in_database[0] == in_python[0], (state, "outcome")
    assert in_database[1] == in_python[1], (state, "rows written")
