"""The rules of a phone-banking transfer: their order, codes and limits, stated once.

``RULES`` is the table both paths of ``transfer_execute`` read:

* the Python path (``banking.services.transfers._transfer``, SQLite) checks each stage with ``enforce``;
* the PostgreSQL path runs the function ``banking_transfer_execute``, whose checks
  ``banking.transfer_sql`` generates from the same rows (the ``sql`` column; the migration that
  creates the function holds the generated text, and ``banking/tests/test_transfer_rules.py``
  fails when the table and the deployed function differ);
* the IVR asks ``transfer_refusal`` (``banking.services.transfers``) for a verdict on what it knows before
  the amount is keyed in: the same rows, those whose facts are known.

A transfer runs: the idempotency replay (before any lock), the ``REQUEST`` rules, the
registration lock and the ``REGISTRATION`` rules, the account locks (primary-key order), the
replay again and today's total under the locks, then the ``ACCOUNTS`` rules. The first rule that
refuses decides; nothing is written. A refusal is the rule's ``code`` (the function's outcome),
raised as ``REFUSALS[code]``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError

from . import errors

# Account statuses that can neither send nor receive (also loss reports, ledger postings).
LOST_STATUSES = ("verbally_lost", "formally_lost")
BLOCKED_STATUSES = ("frozen", "closed")


class Stage(enum.Enum):
    REQUEST = "request"  # before any lock: the request and the registration's accounts
    REGISTRATION = "registration"  # on the locked registration row
    ACCOUNTS = "accounts"  # on the locked account rows and today's total


@dataclass(frozen=True)
class Limit:
    """A limit in fen: the Django setting holding it and the function parameter it travels in."""

    setting: str
    param: str

    def value(self) -> int:
        return int(getattr(settings, self.setting))


PER_TRANSFER = Limit("BANKING_TRANSFER_LIMIT_FEN", "p_transfer_limit_fen")
DAILY = Limit("BANKING_DAILY_LIMIT_FEN", "p_daily_limit_fen")
LIMITS = (PER_TRANSFER, DAILY)  # in the function's parameter order


@dataclass(frozen=True)
class Facts:
    """What the rules look at; ``None`` is unknown (a verdict skips the rules needing it)."""

    from_id: int | None = None
    to_id: int | None = None
    allowed_ids: frozenset[int] | None = None  # the registered account and its linked accounts
    amount_fen: int | None = None
    registration_locked: bool | None = None
    source_status: str | None = None
    target_status: str | None = None
    spent_today_fen: int | None = None  # this registration's transfers of today (Asia/Shanghai)
    source_balance_fen: int | None = None
    transfer_limit_fen: int | None = None
    daily_limit_fen: int | None = None


def _sql_in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


@dataclass(frozen=True)
class Rule:
    name: str
    code: str  # the function's outcome; ``REFUSALS[code]`` is the domain error
    stage: Stage
    needs: tuple[str, ...]  # the ``Facts`` it reads
    # Called with ``Facts`` only when ``applies``: the facts in ``needs`` are not None, which the
    # Optional fields of ``Facts`` cannot say, hence ``Any``.
    refuses: Callable[[Any], bool]
    sql: str  # the same condition in PL/pgSQL, over the function's parameters and variables

    def applies(self, facts: Facts) -> bool:
        return all(getattr(facts, name) is not None for name in self.needs)

    def error(self) -> DomainError:
        return REFUSALS[self.code]()


_LINKED_SQL = (
    "(p_{side}_id = p_registered_account_id OR EXISTS (\n"
    "            SELECT 1 FROM banking_linkedaccount l"
    " WHERE l.registration_id = p_registration_id AND l.account_id = p_{side}_id))"
)

RULES: tuple[Rule, ...] = (
    Rule(
        "same_account",
        "same_account",
        Stage.REQUEST,
        ("from_id", "to_id"),
        lambda f: f.from_id == f.to_id,
        "p_from_id = p_to_id",
    ),
    Rule(
        "not_linked",
        "not_linked",
        Stage.REQUEST,
        ("from_id", "to_id", "allowed_ids"),
        lambda f: f.from_id not in f.allowed_ids or f.to_id not in f.allowed_ids,
        f"NOT (\n        {_LINKED_SQL.format(side='from')}\n        AND {_LINKED_SQL.format(side='to')}\n    )",
    ),
    Rule(
        "limit_per_transfer",
        "limit_per_transfer",
        Stage.REQUEST,
        ("amount_fen", "transfer_limit_fen"),
        lambda f: f.amount_fen > f.transfer_limit_fen,
        f"p_amount_fen > {PER_TRANSFER.param}",
    ),
    Rule(
        "registration_locked",
        "locked",
        Stage.REGISTRATION,
        ("registration_locked",),
        lambda f: f.registration_locked,
        "v_registration_locked",
    ),
    Rule(
        "source_lost",
        "account_lost",
        Stage.ACCOUNTS,
        ("source_status",),
        lambda f: f.source_status in LOST_STATUSES,
        f"v_source.status IN {_sql_in(LOST_STATUSES)}",
    ),
    Rule(
        "source_blocked",
        "account_blocked",
        Stage.ACCOUNTS,
        ("source_status",),
        lambda f: f.source_status in BLOCKED_STATUSES,
        f"v_source.status IN {_sql_in(BLOCKED_STATUSES)}",
    ),
    Rule(
        "target_lost",
        "account_lost",
        Stage.ACCOUNTS,
        ("target_status",),
        lambda f: f.target_status in LOST_STATUSES,
        f"v_target.status IN {_sql_in(LOST_STATUSES)}",
    ),
    Rule(
        "target_blocked",
        "account_blocked",
        Stage.ACCOUNTS,
        ("target_status",),
        lambda f: f.target_status in BLOCKED_STATUSES,
        f"v_target.status IN {_sql_in(BLOCKED_STATUSES)}",
    ),
    Rule(
        "limit_daily",
        "limit_daily",
        Stage.ACCOUNTS,
        ("spent_today_fen", "amount_fen", "daily_limit_fen"),
        lambda f: f.spent_today_fen + f.amount_fen > f.daily_limit_fen,
        f"v_spent + p_amount_fen > {DAILY.param}",
    ),
    Rule(
        "insufficient_funds",
        "insufficient_funds",
        Stage.ACCOUNTS,
        ("source_balance_fen", "amount_fen"),
        lambda f: f.source_balance_fen < f.amount_fen,
        "v_source.balance_fen < p_amount_fen",
    ),
)

# Outcomes of the function that are not a rule of the table: a missing registration or account
# (its lock found no row) and a repeated key with other parameters (the replay, before the rules
# and again under the locks).
NOT_FOUND = "not_found"
IDEMPOTENCY_CONFLICT = "idempotency_conflict"

# Every refusal code (the rules' and the two above) and the domain error it stands for.
REFUSALS: dict[str, Callable[[], DomainError]] = {
    IDEMPOTENCY_CONFLICT: errors.IdempotencyConflict,
    "same_account": errors.SameAccount,
    "not_linked": errors.NotLinked,
    "limit_per_transfer": lambda: errors.LimitExceeded(details={"limit": "per_transfer"}),
    "locked": errors.RegistrationLocked,
    NOT_FOUND: errors.AccountNotFound,
    "account_lost": errors.AccountLost,
    "account_blocked": errors.AccountBlocked,
    "limit_daily": lambda: errors.LimitExceeded(
        _("The amount exceeds today's transfer limit."), details={"limit": "daily"}
    ),
    "insufficient_funds": errors.InsufficientFunds,
}


def rules(stage: Stage) -> tuple[Rule, ...]:
    return tuple(rule for rule in RULES if rule.stage is stage)


def first_refusal(facts: Facts, stages: tuple[Stage, ...] = tuple(Stage)) -> Rule | None:
    """The first rule of ``stages`` (table order) whose facts are known and that refuses."""
    for rule in RULES:
        if rule.stage in stages and rule.applies(facts) and rule.refuses(facts):
            return rule
    return None


def enforce(stage: Stage, facts: Facts) -> None:
    """Raise the error of the first rule of ``stage`` that refuses (every fact must be known)."""
    for rule in rules(stage):
        if not rule.applies(facts):
            raise AssertionError(f"transfer rule {rule.name} lacks a fact of {rule.needs}")
        if rule.refuses(facts):
            raise rule.error()
