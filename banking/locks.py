"""The one place banking takes row locks (``SELECT ... FOR UPDATE``), and the retry of a whole
transaction that the database aborted as a deadlock victim or a serialization failure.

Global lock order (every service follows it, so lock waits can never form a cycle):

1. at most one ``PhoneBankingRegistration`` row (``lock_registration``);
2. then ``Account`` rows, all in one statement, ascending primary key (``lock_accounts``).

On PostgreSQL a transfer takes the same locks in the same order inside the PL/pgSQL function
``banking_transfer_execute`` (``banking.transfer_sql``, created by migration ``0005``), which
runs its whole locked section in one round trip. Nothing else is locked explicitly. Loss
reports are guarded by their account's lock (a service locks the account, then re-reads the
report). Inserting rows that reference a locked row (a
posting, an event) only takes the weaker key-share lock on rows this transaction already
holds, or on an account after its registration, which is still the order above. On SQLite
(embedded default) ``FOR UPDATE`` is a no-op: a write transaction there locks the whole database
(``transaction_mode=IMMEDIATE``).
"""

from __future__ import annotations

from django.db import connection

from core.db import is_retryable, retry_on_conflict  # noqa: F401 - the app's services use them from here

from .errors import AccountNotFound
from .models import Account, PhoneBankingRegistration


def _for_update(of: str = "") -> str:
    """``FOR UPDATE [OF alias]`` where the database has row locks (not SQLite: see above)."""
    if not connection.features.has_select_for_update:
        return ""
    return f" FOR UPDATE OF {of}" if of and connection.features.has_select_for_update_of else " FOR UPDATE"


def lock_accounts(*ids: int) -> dict[int, Account]:
    """Lock the accounts ``ids`` (duplicates allowed) in primary-key order; returns them by id
    with fresh values. Must run inside a transaction. Raises ``AccountNotFound`` for a missing id.

    Each account also carries ``notice_phone`` / ``notice_active``, its SMS-notice subscription
    (a left join; only account rows are locked). Raw SQL because this sits on the path of every
    posting (on SQLite also every transfer's; PostgreSQL locks a transfer's rows inside its
    function) and the ORM's query compilation cost more CPU than the database's work.
    """
    wanted = sorted(set(ids))
    placeholders = ", ".join(["%s"] * len(wanted))
    # ORDER BY id makes PostgreSQL lock the rows in that order (LockRows sits above the sort).
    # Only placeholders and a fixed clause are interpolated: the values go as parameters.
    sql = (
        "SELECT a.*, n.phone AS notice_phone, n.active AS notice_active FROM banking_account a "  # noqa: S608
        "LEFT JOIN banking_smsnoticesubscription n ON n.account_id = a.id "
        f"WHERE a.id IN ({placeholders}) ORDER BY a.id{_for_update(of='a')}"
    )
    rows = list(Account.objects.raw(sql, wanted))
    if len(rows) != len(wanted):
        raise AccountNotFound()
    return {row.pk: row for row in rows}


def lock_registration(registration_id: int) -> PhoneBankingRegistration:
    """Lock one registration row (take it before any account lock)."""
    sql = f"SELECT * FROM banking_phonebankingregistration WHERE id = %s{_for_update()}"  # noqa: S608
    rows = list(PhoneBankingRegistration.objects.raw(sql, [registration_id]))
    if not rows:
        raise AccountNotFound()
    return rows[0]
