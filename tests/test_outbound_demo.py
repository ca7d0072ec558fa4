"""The demo's campaigns: a running marketing campaign of seeded card customers with a day of
dialing history, and a revisit campaign fed from the closed work orders; seeding again adds
nothing."""

import io

import pytest
from django.core.management import call_command

from calls.outbound import selectors
from calls.outbound.demo import MARKETING_CODE, REVISIT_CODE, seed_outbound
from calls.outbound.models import CampaignContact, CampaignStatus, ContactSource, DialAttempt, DoNotCall

pytestmark = pytest.mark.django_db


def test_demo_campaigns():
    call_command("seed_demo", "--history-days", "10", "--customers", "80", stdout=io.StringIO())
    marketing = selectors.campaign_by_code(MARKETING_CODE)
    revisit = selectors.campaign_by_code(REVISIT_CODE)
    assert marketing is not None and revisit is not None
    assert marketing.status == revisit.status == CampaignStatus.RUNNING
    contacts = CampaignContact.objects.filter(campaign=marketing)
    assert 30 <= contacts.count() <= 44
    assert contacts.filter(source=ContactSource.SEGMENT, customer_id__isnull=False).count() == contacts.count()
    assert DoNotCall.objects.filter(reason="optout", customer_id__isnull=False).exists()
    assert DialAttempt.objects.filter(campaign=marketing).count() >= 15
    assert CampaignContact.objects.filter(campaign=revisit, source=ContactSource.TICKET).exists()
    figures = selectors.campaign_figures(marketing, marketing.date_from, marketing.date_to)
    assert figures["contacts_reached"] > 0 and figures["aht_s"] is not None
    before = (CampaignContact.objects.count(), DialAttempt.objects.count())
    assert seed_outbound()["campaigns"] == 0
    assert (CampaignContact.objects.count(), DialAttempt.objects.count()) == before
