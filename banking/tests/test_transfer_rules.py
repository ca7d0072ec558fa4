"""The transfer rules are stated once (``banking.transfer_rules``): the PL/pgSQL function is the
generator's output from that table, the SMS text comes from one template on both paths, the
outbox write on PostgreSQL goes through notifications' guard, and the IVR's early verdict is
banking's (``transfer_refusal``)."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest
from django.db import DataError, connection, transaction

from banking import errors, sms_texts, transfer_rules
from banking.models import Account
from banking.services.transfers import transfer_execute, transfer_refusal
from banking.transfer_sql import transfer_function_sql
from core.errors import DomainError
from notifications.models import SmsOutbox
from notifications.services import sms_enqueue_function_sql
from tests.factories_banking import AccountFactory, phone_banking


def _latest(package: str, attribute: str) -> str:
    """``attribute`` of the last migration of ``package`` that defines it (the text in force)."""
    module = importlib.import_module(package)
    found = None
    for info in sorted(pkgutil.iter_modules(module.__path__), key=lambda info: info.name):
        migration = importlib.import_module(f"{package}.{info.name}")
        if hasattr(migration, attribute):
            found = getattr(migration, attribute)
    assert found is not None, (package, attribute)
    return found


def _body(sql: str, function: str) -> str:
    """The ``$$``-quoted body of ``function`` in a CREATE FUNCTION text (what ``pg_proc.prosrc`` holds)."""
    start = sql.index(f"CREATE OR REPLACE FUNCTION {function}(")
    first = sql.index("$$", start) + 2
    return sql[first : sql.index("$$", first)]


def _deployed(function: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = %s", [function])
        (source,) = cursor.fetchone()
    return source


# --- one table, one generator, the migration in force -----------------------------------------------


def test_the_latest_migration_holds_the_generated_transfer_function():
    assert _latest("banking.migrations", "TRANSFER_FUNCTION").strip() == transfer_function_sql().strip(), (
        "banking.transfer_rules, banking.sms_texts or banking.transfer_sql changed: write a migration with "
        "transfer_function_sql()'s new text"
    )


def test_the_latest_migration_holds_the_generated_sms_enqueue_function():
    assert _latest("notifications.migrations", "SMS_ENQUEUE_FUNCTION").strip() == sms_enqueue_function_sql().strip()


@pytest.mark.postgres
def test_the_database_runs_the_generated_functions(db):
    assert _deployed("banking_transfer_execute") == _body(transfer_function_sql(), "banking_transfer_execute")
    assert _deployed("notifications_sms_enqueue") == _body(sms_enqueue_function_sql(), "notifications_sms_enqueue")


@pytest.mark.postgres
def test_the_functions_checks_are_the_tables_rules_in_order_with_its_limits(db):
    source = _deployed("banking_transfer_execute")
    checks = re.findall(
        r"^\s*(?:IF|ELSIF) ((?:(?!THEN).)+?) THEN  -- (\w+)\n\s+outcome := '(\w+)';", source, flags=re.DOTALL | re.M
    )
    assert [(name, code) for _sql, name, code in checks] == [(rule.name, rule.code) for rule in transfer_rules.RULES]
    assert [sql for sql, _name, _code in checks] == [rule.sql for rule in transfer_rules.RULES]
    for limit in transfer_rules.LIMITS:
        assert limit.param in source


def test_every_rule_has_a_domain_error_and_the_codes_are_stable():
    codes = {rule.name: rule.error().code for rule in transfer_rules.RULES}
    assert codes == {
        "same_account": "same_account",
        "not_linked": "not_linked",
        "limit_per_transfer": "limit_exceeded",
        "registration_locked": "locked",
        "source_lost": "account_lost",
        "source_blocked": "account_blocked",
        "target_lost": "account_lost",
        "target_blocked": "account_blocked",
        "limit_daily": "limit_exceeded",
        "insufficient_funds": "insufficient_funds",
    }
    assert all(isinstance(factory(), DomainError) for factory in transfer_rules.REFUSALS.values())
    assert set(transfer_rules.LOST_STATUSES) | set(transfer_rules.BLOCKED_STATUSES) == set(Account.Status.values) - {
        Account.Status.ACTIVE
    }


def test_an_sms_template_becomes_one_sql_expression():
    from notifications.texts import TemplateSpec

    spec = TemplateSpec(
        key="banking.test",
        kind="service",
        label="test",
        default="{signature}尾号{last4}的卡。",
        placeholders={"signature": ("", "【银行】"), "last4": ("", "0001")},
    )
    sql = sms_texts.to_sql(spec, {"signature": "p_sig", "last4": "right(n, 4)"})
    assert sql == (
        "notifications_sms_render('banking.test', '{signature}尾号{last4}的卡。', "
        "ARRAY['signature', 'last4']::text[], ARRAY[p_sig, right(n, 4)]::text[])"
    )
    with pytest.raises(ValueError, match="no SQL value"):
        sms_texts.to_sql(spec, {"signature": "p_sig"})


# --- the full-number guard on the PostgreSQL path ---------------------------------------------------


@pytest.mark.postgres
def test_the_databases_outbox_write_refuses_a_full_card_number(db):
    card = "6228480000001234"
    with pytest.raises(DataError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT notifications_sms_enqueue(%s, %s, %s, NULL, now())", ["13900000000", "service", f"卡号{card}"]
        )
    assert not SmsOutbox.objects.exists()


@pytest.mark.postgres
def test_a_full_card_number_never_reaches_the_outbox_through_the_transfer_function(db):
    """A transfer function whose notice would carry the whole card number (a broken template),
    installed for this test only (DDL is transactional): the transfer fails and writes nothing."""
    pb = phone_banking(card_fen=5_000_000, sms_notice=True)
    broken = transfer_function_sql().replace("right(v_account.number, 4)", "v_account.number")
    assert broken != transfer_function_sql()
    with connection.cursor() as cursor:
        cursor.execute(broken, params=None)
    with pytest.raises(DataError):
        transfer_execute(
            registration=pb.registration,
            from_account=pb.card,
            to_account=pb.linked[0],
            amount="1.00",
            idempotency_key="full-number",
            channel="ivr",
        )
    assert not SmsOutbox.objects.filter(text__contains=pb.card.number).exists()
    assert not SmsOutbox.objects.exists()
    pb.card.refresh_from_db()
    assert pb.card.balance_fen == 5_000_000


# --- the IVR's early verdict --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_verdict_before_the_amount_follows_the_rules(pb):
    card, passbook = pb.card, pb.linked[0]
    assert transfer_refusal(registration=pb.registration, from_account=card) is None
    assert transfer_refusal(registration=pb.registration, from_account=card, to_account=passbook) is None
    assert transfer_refusal(registration=None, from_account=card) == errors.NotRegistered.code
    assert transfer_refusal(registration=pb.registration, from_account=card, to_account=card) == "same_account"
    stranger = AccountFactory()
    assert transfer_refusal(registration=pb.registration, from_account=card, to_account=stranger) == "not_linked"
    passbook.status = Account.Status.FROZEN
    assert transfer_refusal(registration=pb.registration, from_account=card, to_account=passbook) == "account_blocked"
    card.status = Account.Status.VERBALLY_LOST
    assert transfer_refusal(registration=pb.registration, from_account=card) == "account_lost"
    card.status = Account.Status.ACTIVE
    pb.registration.locked = True
    assert transfer_refusal(registration=pb.registration, from_account=card) == "locked"
