"""The dial decision (``calls.outbound.compliance.check``): calling hours, holidays, the
do-not-call list checked at dial time, the per-number weekly cap, attempts and due times."""

from datetime import date, time, timedelta

import pytest

from calls.outbound import compliance, services
from calls.outbound.models import AttemptStatus, CampaignKind, CampaignStatus, ContactStatus, DncReason
from tests.factories import make_staff
from tests.outbound_helpers import local, make_attempt, make_campaign, make_contact
from tickets.models import CalendarDay, CalendarSource, CalendarYear

pytestmark = pytest.mark.django_db

# A Tuesday, an ordinary working day.
TUESDAY_10AM = local(2026, 12, 1, 10, 0)


@pytest.fixture(autouse=True)
def no_cached_holidays():
    compliance.forget_holidays()
    yield
    compliance.forget_holidays()


@pytest.fixture
def national_day():
    """2026-10-01 (a Thursday): National Day, from the calendar's data."""
    CalendarYear.objects.update_or_create(year=2026, defaults={"complete": True, "source": CalendarSource.PACKAGE})
    CalendarDay.objects.update_or_create(
        date=date(2026, 10, 1), defaults={"is_working_day": False, "name": "National Day", "source": "package"}
    )
    # 2026-10-10 is a Saturday made a working day (调休): not a holiday.
    CalendarDay.objects.update_or_create(
        date=date(2026, 10, 10), defaults={"is_working_day": True, "name": "National Day", "source": "package"}
    )


def test_a_contact_in_the_window_is_allowed_with_every_reason():
    contact = make_contact(make_campaign())
    decision = compliance.check(contact, now=TUESDAY_10AM)
    assert decision.allowed, decision
    assert decision.code == "allowed"
    assert list(decision.reasons) == [
        "campaign",
        "dates",
        "center_window",
        "campaign_window",
        "contact",
        "attempts",
        "due",
        "holiday",
        "dnc",
        "weekly_cap",
    ]
    assert decision.reasons["dnc"] == "not listed"


@pytest.mark.parametrize(
    ("hour", "minute", "allowed", "code"),
    [
        (8, 59, False, "outside_center_window"),
        (9, 0, True, "allowed"),
        (19, 59, True, "allowed"),
        (20, 0, False, "outside_center_window"),
        (23, 30, False, "outside_center_window"),
    ],
)
def test_no_dial_outside_the_center_window(hour, minute, allowed, code):
    contact = make_contact(make_campaign(window=(time(8, 0), time(22, 0))))
    decision = compliance.check(contact, now=local(2026, 12, 1, hour, minute))
    assert (decision.allowed, decision.code) == (allowed, code)


def test_the_center_window_is_a_setting(settings):
    settings.OUTBOUND_WINDOW = "10:30-12:00"
    contact = make_contact(make_campaign())
    assert compliance.check(contact, now=local(2026, 12, 1, 10, 0)).code == "outside_center_window"
    assert compliance.check(contact, now=local(2026, 12, 1, 11, 0)).allowed


def test_the_campaign_window_narrows_the_center_window():
    contact = make_contact(make_campaign(window=(time(14, 0), time(17, 0))))
    assert compliance.check(contact, now=local(2026, 12, 1, 10, 0)).code == "outside_campaign_window"
    assert compliance.check(contact, now=local(2026, 12, 1, 17, 0)).code == "outside_campaign_window"
    assert compliance.check(contact, now=local(2026, 12, 1, 16, 59)).allowed


def test_the_window_is_local_time_not_utc():
    contact = make_contact(make_campaign())
    # 02:00 UTC is 10:00 in Shanghai.
    from datetime import UTC, datetime

    assert compliance.check(contact, now=datetime(2026, 12, 1, 2, 0, tzinfo=UTC)).allowed
    assert compliance.check(contact, now=datetime(2026, 12, 1, 13, 0, tzinfo=UTC)).code == "outside_center_window"


def test_no_dial_on_a_public_holiday(national_day):
    contact = make_contact(make_campaign())
    decision = compliance.check(contact, now=local(2026, 10, 1, 10, 0))
    assert not decision.allowed
    assert decision.code == "public_holiday"
    # A weekend day of the holiday week counts too.
    assert compliance.check(contact, now=local(2026, 10, 3, 10, 0)).code == "public_holiday"
    # The Friday after the holiday week and the make-up Saturday (调休) are fine.
    assert compliance.check(contact, now=local(2026, 10, 9, 10, 0)).allowed
    assert compliance.check(contact, now=local(2026, 10, 10, 10, 0)).allowed


def test_a_campaign_may_allow_holidays(national_day):
    contact = make_contact(make_campaign(allow_holidays=True))
    decision = compliance.check(contact, now=local(2026, 10, 1, 10, 0))
    assert decision.allowed
    assert decision.reasons["holiday"] == "campaign calls on holidays"


def test_an_ordinary_weekend_is_not_a_holiday(national_day):
    contact = make_contact(make_campaign())
    assert compliance.check(contact, now=local(2026, 12, 5, 10, 0)).allowed  # a Saturday


def test_the_campaign_must_run_and_be_within_its_dates():
    contact = make_contact(make_campaign(status=CampaignStatus.PAUSED))
    assert compliance.check(contact, now=TUESDAY_10AM).code == "campaign_not_running"
    contact = make_contact(make_campaign(date_from=date(2026, 12, 2), date_to=date(2026, 12, 31)))
    assert compliance.check(contact, now=TUESDAY_10AM).code == "outside_campaign_dates"
    assert compliance.check(contact, now=local(2026, 12, 31, 19, 0)).allowed
    assert compliance.check(contact, now=local(2027, 1, 1, 10, 0)).code == "outside_campaign_dates"


def test_dnc_added_mid_campaign_stops_the_next_dial_of_that_number():
    lead = make_staff("team_lead")
    campaign = make_campaign()
    contact = make_contact(campaign, phone="13900001111")
    other = make_contact(campaign, phone="13900002222")
    assert compliance.check(contact, now=TUESDAY_10AM).allowed

    services.dnc_add(phone="139-0000-1111", reason=DncReason.COMPLAINT, actor=lead)

    decision = compliance.check(contact, now=TUESDAY_10AM)
    assert not decision.allowed
    assert decision.code == "do_not_call"
    assert compliance.check(other, now=TUESDAY_10AM).allowed
    # The dialer's follow-up: the contact leaves the list.
    services.contact_refuse(contact, decision=decision, now=TUESDAY_10AM)
    contact.refresh_from_db()
    assert contact.status == ContactStatus.DNC


def test_a_marketing_only_dnc_row_lets_a_revisit_call():
    lead = make_staff("team_lead")
    services.dnc_add(phone="13900001111", reason=DncReason.CUSTOMER_OPTOUT, all_campaigns=False, actor=lead)
    marketing = make_contact(make_campaign(kind=CampaignKind.MARKETING), phone="13900001111")
    revisit = make_contact(make_campaign(kind=CampaignKind.REVISIT), phone="13900001111")
    assert compliance.check(marketing, now=TUESDAY_10AM).code == "do_not_call"
    decision = compliance.check(revisit, now=TUESDAY_10AM)
    assert decision.allowed
    assert "marketing only" in decision.reasons["dnc"]


def test_a_removed_dnc_row_no_longer_blocks():
    lead = make_staff("team_lead")
    entry = services.dnc_add(phone="13900001111", reason=DncReason.COMPLAINT, all_campaigns=True, actor=lead)
    contact = make_contact(make_campaign(kind=CampaignKind.REVISIT), phone="13900001111")
    assert compliance.check(contact, now=TUESDAY_10AM).code == "do_not_call"
    services.dnc_remove(entry=entry, note="客户同意回访", actor=lead)
    assert compliance.check(contact, now=TUESDAY_10AM).allowed


def test_weekly_cap_counts_marketing_calls_that_reached_the_number_across_campaigns():
    first = make_campaign()
    second = make_campaign()
    earlier = make_contact(first, phone="13700001111")
    contact = make_contact(second, phone="13700001111")
    # Unanswered dials do not count: the retry of a busy number works.
    make_attempt(earlier, at=TUESDAY_10AM - timedelta(days=1), status=AttemptStatus.ENDED, answered=False)
    assert compliance.check(contact, now=TUESDAY_10AM).allowed
    # An answered marketing call two days ago in another campaign: the cap (1 a week) is used.
    make_attempt(earlier, at=TUESDAY_10AM - timedelta(days=2), answered=True)
    decision = compliance.check(contact, now=TUESDAY_10AM)
    assert (decision.allowed, decision.code) == (False, "weekly_cap")
    # Eight days later it is allowed again.
    assert compliance.check(contact, now=TUESDAY_10AM + timedelta(days=6)).allowed


def test_a_live_marketing_dial_counts_towards_the_cap():
    first = make_campaign()
    make_attempt(make_contact(first, phone="13700002222"), at=TUESDAY_10AM, status=AttemptStatus.RINGING)
    contact = make_contact(make_campaign(), phone="13700002222")
    assert compliance.check(contact, now=TUESDAY_10AM + timedelta(minutes=1)).code == "weekly_cap"


def test_weekly_cap_is_a_setting_and_ignores_revisits(settings):
    first = make_campaign()
    make_attempt(make_contact(first, phone="13700003333"), at=TUESDAY_10AM - timedelta(days=1), answered=True)
    marketing = make_contact(make_campaign(), phone="13700003333")
    revisit = make_contact(make_campaign(kind=CampaignKind.REVISIT), phone="13700003333")
    assert compliance.check(marketing, now=TUESDAY_10AM).code == "weekly_cap"
    assert compliance.check(revisit, now=TUESDAY_10AM).allowed
    settings.OUTBOUND_MARKETING_PER_WEEK = 2
    assert compliance.check(marketing, now=TUESDAY_10AM).allowed


def test_attempts_and_due_time_of_the_contact():
    campaign = make_campaign(max_attempts=2)
    used = make_contact(campaign, phone="13600001111", attempts=2)
    assert compliance.check(used, now=TUESDAY_10AM).code == "attempts_used"
    later = make_contact(campaign, phone="13600002222", next_attempt_at=TUESDAY_10AM + timedelta(minutes=5))
    assert compliance.check(later, now=TUESDAY_10AM).code == "not_due"
    assert compliance.check(later, now=TUESDAY_10AM + timedelta(minutes=5)).allowed
    done = make_contact(campaign, phone="13600003333", status=ContactStatus.DONE)
    assert compliance.check(done, now=TUESDAY_10AM).code == "contact_not_pending"


def test_a_refused_window_postpones_the_contact_to_the_next_window_start():
    contact = make_contact(make_campaign(window=(time(14, 0), time(17, 0))))
    decision = compliance.check(contact, now=local(2026, 12, 1, 18, 0))
    services.contact_refuse(contact, decision=decision, now=local(2026, 12, 1, 18, 0))
    contact.refresh_from_db()
    assert contact.next_attempt_at == local(2026, 12, 2, 14, 0)
    assert contact.status == ContactStatus.PENDING
