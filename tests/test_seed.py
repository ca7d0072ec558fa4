"""``seed_demo``: the documented units and logins, deterministic and idempotent."""

import io

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core import serializers
from django.core.management import call_command
from django.test import RequestFactory, override_settings

from org.models import Outlet, StaffProfile, Unit
from org.roles import Role

pytestmark = pytest.mark.django_db
User = get_user_model()


def seed(*args, customers: int = 20, history_days: int = 0):
    out = io.StringIO()
    call_command("seed_demo", "--history-days", str(history_days), "--customers", str(customers), *args, stdout=out)
    return out.getvalue()


def snapshot() -> str:
    """Every seeded row, serialized (last_login excluded: logging in is not seeding)."""
    rows = [
        *Unit.objects.order_by("pk"),
        *Outlet.objects.order_by("pk"),
        *StaffProfile.objects.order_by("pk"),
    ]
    users = list(User.objects.order_by("pk"))
    return serializers.serialize("json", rows) + serializers.serialize(
        "json", users, fields=["username", "password", "first_name", "last_name", "is_staff", "is_superuser"]
    )


def test_seed_creates_the_documented_organisation():
    output = seed()
    assert sorted(Unit.objects.filter(kind="branch").values_list("code", flat=True)) == [
        f"B{n:02d}" for n in range(1, 11)
    ]
    assert {"CARD", "RETAIL", "RISK", "IT", "ACCT"} <= set(
        Unit.objects.filter(kind="department").values_list("code", flat=True)
    )
    assert Outlet.objects.count() == 494
    assert not Outlet.objects.filter(unit__kind="department").exists()
    center = ["director", "maintainer", "analyst", "lead1", "lead2"] + [f"agent{n:02d}" for n in range(1, 16)]
    assert User.objects.filter(username__in=center).count() == 20
    assert "director" in output and "demo12345" in output


def test_seed_roles_and_units_match_the_design():
    seed()
    role = dict(StaffProfile.objects.values_list("user__username", "role"))
    assert role["director"] == Role.DIRECTOR and role["lead2"] == Role.TEAM_LEAD
    assert role["agent15"] == Role.AGENT and role["risk"] == Role.RISK_OFFICER and role["switch"] == Role.SWITCH
    for n in range(1, 11):
        profile = StaffProfile.objects.get(user__username=f"branch{n:02d}")
        assert profile.role == Role.UNIT_STAFF and profile.unit.code == f"B{n:02d}"


def test_seeded_users_log_in_with_the_demo_password():
    seed()
    request = RequestFactory().post("/accounts/login/")
    assert authenticate(request=request, username="agent07", password="demo12345") is not None
    assert authenticate(request=request, username="agent07", password="wrong") is None


@override_settings(DEMO_PASSWORD="Another-Pass-1")
def test_demo_password_can_be_overridden_and_is_not_printed():
    output = seed()
    request = RequestFactory().post("/accounts/login/")
    assert authenticate(request=request, username="director", password="Another-Pass-1") is not None
    assert "Another-Pass-1" not in output


def test_seed_is_idempotent():
    seed(history_days=10)
    before = snapshot(), ledger_snapshot()
    seed(history_days=10)
    assert (snapshot(), ledger_snapshot()) == before


def ledger_snapshot() -> str:
    from banking.models import Account, Customer, Posting

    rows = [*Customer.objects.order_by("pk"), *Account.objects.order_by("pk"), *Posting.objects.order_by("pk")]
    return serializers.serialize("json", rows)


# (card, withdrawal PIN, balance, sms notice, phone-banking PIN, linked [(number, code, balance)])
DOCUMENTED = {
    "张伟": (
        "6228480100000001",
        "654321",
        "50000.00",
        True,
        "123456",
        [("01010000000001", "01", "1000.00"), ("01020000000002", "02", "0.00")],
    ),
    "李娜": ("6228480100000002", "111111", "2000.00", None, None, []),
    "王强": ("6228480100000003", "222222", "10000.00", True, "223344", [("01010000000003", "01", "500.00")]),
    "赵敏": ("6228480100000004", "333333", "8000.00", False, "334455", [("01010000000004", "01", "0.00")]),
}


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_seed_creates_the_documented_identities_exactly(name):
    from django.contrib.auth.hashers import check_password

    from banking import selectors
    from banking.models import Account
    from banking.money import fen_to_yuan

    seed(history_days=30)
    card_number, pin, balance, sms, pb_pin, linked = DOCUMENTED[name]
    card = Account.objects.get(number=card_number)
    assert card.customer.name == name and card.kind == "debit_card" and card.card_role == "main"
    assert fen_to_yuan(card.balance_fen) == balance
    assert check_password(pin, card.withdrawal_password)
    subscription = getattr(card, "sms_notice", None)
    assert (subscription.active if subscription else None) == sms
    registration = selectors.registration_for_account(card)
    if pb_pin is None:
        assert registration is None
        return
    assert registration.account_id == card.pk and check_password(pb_pin, registration.password)
    links = {
        (link.account.number, link.code, fen_to_yuan(link.account.balance_fen)) for link in registration.linked.all()
    }
    assert links == set(linked)


def test_seeded_ledger_is_consistent_with_history():
    from banking.models import Posting

    seed(customers=200, history_days=30)
    assert Posting.objects.filter(transaction__kind="external").exists()
    call_command("ledger_check", stdout=io.StringIO())  # exits non-zero on any difference (batch credits too)


def test_the_demo_has_last_months_prizes_posted_and_this_months_adjustments_waiting():
    from banking.models import Batch, BatchItem

    seed(customers=200)
    posted, waiting = Batch.objects.order_by("pk")
    assert (posted.kind, posted.status, waiting.kind, waiting.status) == (
        "pos_prize",
        "done",
        "atm_adjustment",
        "validated",
    )
    assert posted.posted_count == 60 and posted.posted_total_fen == posted.control_total_fen > 0
    assert posted.uploaded_by.username == "analyst" and posted.decided_by.username == "director"
    reasons = set(BatchItem.objects.filter(batch=waiting).values_list("reason", flat=True))
    assert reasons == {"", "unknown_account"}  # one line names no card: the report shows it
    seed(customers=200)
    assert Batch.objects.count() == 2  # a second seed adds none


def test_seed_if_empty_skips_a_seeded_database():
    seed()
    assert "nothing to do" in seed("--if-empty")


def test_seed_is_deterministic_across_databases():
    seed()
    names = list(Outlet.objects.order_by("code").values_list("code", "name", "unit__code"))
    assert names[0] == ("B01-001", "东丽中心分理处", "B01")
    assert names[-1] == ("B10-044", "滨海物流园分理处", "B10")
