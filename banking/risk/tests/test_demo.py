"""The seeded demo has a few alerts in working states, raised by the real rules; seeding twice adds none."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from banking.models import Account, PhoneBankingRegistration
from banking.risk import demo
from banking.risk.models import Alert


@pytest.mark.django_db
def test_the_demo_seeds_alerts_without_touching_the_documented_identities():
    call_command("seed_demo", "--history-days", "0", "--customers", "0", "--quiet", stdout=io.StringIO())
    states = {(a.rule, a.status, a.outcome) for a in Alert.objects.all()}
    assert states == {
        ("password_failures", "assigned", ""),
        ("ivr_card_probing", "open", ""),
        ("balance_many_phones", "closed", "false_positive"),
        ("agent_report", "open", ""),
    }
    assert all(alert.evidence.exists() for alert in Alert.objects.all())
    assert Alert.objects.get(rule="password_failures").log.filter(action="commented").exists()
    # The documented balances and registrations hold (DESIGN.md §6 Demo data).
    assert Account.objects.get(number="6228480100000004").balance_fen == 800_000
    assert not PhoneBankingRegistration.objects.filter(locked=True).exists()
    assert set(PhoneBankingRegistration.objects.values_list("failed_attempts", flat=True)) == {0}
    assert demo.seed_alerts() == 0
    assert Alert.objects.count() == 4
