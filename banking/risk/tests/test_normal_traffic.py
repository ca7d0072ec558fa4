"""The rules stay quiet on an hour of normal traffic: ``simulate_traffic`` runs a simulated hour
(compressed, through the real IVR API: logins with the documented cards from the callers' own
phones, balances, information, agents) on the seeded demo center, plus an hour of ordinary
phone-banking activity it does not generate (a few transfers, a mistyped password)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from banking.errors import RegistrationLocked
from banking.models import PhoneBankingRegistration
from banking.risk import services
from banking.risk.models import Alert, IvrObservation
from banking.services.passwords import password_verify
from banking.services.transfers import transfer_execute


@pytest.mark.django_db(transaction=True)
def test_an_hour_of_simulated_traffic_raises_no_alert():
    call_command("seed_demo", "--history-days", "0", "--customers", "0", "--quiet", stdout=io.StringIO())
    services.watermarks_ensure()  # monitoring starts after the seeding
    demo_alerts = set(Alert.objects.values_list("pk", flat=True))  # the seeded demo's own

    out = io.StringIO()
    call_command(
        "simulate_traffic", "--calls-per-hour", "90", "--minutes", "60", "--speed", "900", "--seed", "16", stdout=out
    )
    summary = json.loads(out.getvalue()[out.getvalue().index("{") :])
    assert summary["calls"] > 40 and summary["errors"] == 0

    # What the simulator does not do: ordinary transfers and one mistyped password.
    registration = PhoneBankingRegistration.objects.select_related("account").get(account__number="6228480100000001")
    linked = registration.linked.select_related("account").order_by("code")
    for n, amount in enumerate(("200.00", "1500.00", "80.00")):
        transfer_execute(
            registration=registration,
            from_account=registration.account,
            to_account=linked[n % 2].account,
            amount=amount,
            idempotency_key=f"normal-{n}",
            channel="ivr",
            call_id=f"normal-call-{n}",
        )
    try:
        assert (
            password_verify(registration=registration, password="000000", channel="ivr", call_id="normal-pw") is False
        )
    except RegistrationLocked:  # pragma: no cover - one wrong entry never locks
        raise

    done = services.risk_evaluate()
    assert done[services.IVR] > 0 and done[services.LEDGER] >= 3 and done[services.ACCOUNT_EVENTS] >= 1
    # The feed was read: the simulated logins and balances are there for the rules to see.
    assert IvrObservation.objects.filter(kind=IvrObservation.Kind.NUMBER_ENTERED).count() > 5
    assert IvrObservation.objects.filter(kind=IvrObservation.Kind.BALANCE_QUERY).count() > 5
    assert list(Alert.objects.exclude(pk__in=demo_alerts).values_list("rule", "details")) == []
    assert all(alert.hits == 1 for alert in Alert.objects.all())  # nor did the demo's see more
