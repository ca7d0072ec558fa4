"""Campaign writes and what becomes of a dial: retry intervals by outcome and cause, callbacks,
do-not-call requests, attempts used up; campaign start/pause/finish; audit."""

from datetime import date, time, timedelta

import pytest

from audit.models import AuditEvent
from calls.outbound import compliance, errors, selectors, services
from calls.outbound.models import (
    AttemptStatus,
    CampaignKind,
    CampaignStatus,
    ContactStatus,
    DialAttempt,
    DncReason,
    DoNotCall,
)
from tests.factories import make_staff
from tests.outbound_helpers import local, make_attempt, make_campaign, make_contact, make_queue

pytestmark = pytest.mark.django_db

NOW = local(2026, 12, 1, 10, 0)


@pytest.fixture
def agent():
    return make_staff("agent", username="agent-x")


def _dialled(contact, agent=None, at=NOW):
    attempt = make_attempt(contact, at=at, agent=agent, status=AttemptStatus.ENDED)
    contact.status = ContactStatus.DIALING
    contact.save(update_fields=["status"])
    return attempt


@pytest.mark.parametrize(
    ("cause", "minutes"),
    [("busy", 10), ("no_answer", 120), ("rejected", 240), ("failed", 30)],
)
def test_retry_intervals_by_cause_default(cause, minutes):
    contact = make_contact(make_campaign(max_attempts=3))
    services.record_cause(_dialled(contact), cause, now=NOW)
    contact.refresh_from_db()
    assert contact.status == ContactStatus.PENDING
    assert contact.attempts == 1
    assert contact.last_outcome == cause
    assert contact.next_attempt_at == NOW + timedelta(minutes=minutes)


def test_retry_intervals_follow_the_campaign():
    contact = make_contact(make_campaign(retry_minutes={"busy": 3, "no_answer": 45}))
    services.record_cause(_dialled(contact), "busy", now=NOW)
    contact.refresh_from_db()
    assert contact.next_attempt_at == NOW + timedelta(minutes=3)
    services.record_cause(_dialled(contact, at=NOW + timedelta(minutes=3)), "no_answer", now=NOW)
    contact.refresh_from_db()
    assert contact.next_attempt_at == NOW + timedelta(minutes=45)
    assert contact.attempts == 2


def test_record_cause_is_counted_once_per_dial():
    contact = make_contact(make_campaign())
    attempt = _dialled(contact)
    services.record_cause(attempt, "busy", now=NOW)
    services.record_cause(attempt, "busy", now=NOW + timedelta(minutes=1))
    contact.refresh_from_db()
    assert contact.attempts == 1
    assert contact.next_attempt_at == NOW + timedelta(minutes=10)


def test_attempts_used_up_exhaust_the_contact():
    contact = make_contact(make_campaign(max_attempts=2))
    services.record_cause(_dialled(contact), "no_answer", now=NOW)
    services.record_cause(_dialled(contact, at=NOW + timedelta(hours=2)), "busy", now=NOW + timedelta(hours=2))
    contact.refresh_from_db()
    assert contact.status == ContactStatus.EXHAUSTED
    assert contact.attempts == 2
    assert contact.next_attempt_at is None


def test_invalid_number_cause_marks_the_contact_invalid():
    contact = make_contact(make_campaign())
    services.record_cause(_dialled(contact), "invalid_number", now=NOW)
    contact.refresh_from_db()
    assert contact.status == ContactStatus.INVALID


def test_unknown_cause_is_refused():
    contact = make_contact(make_campaign())
    with pytest.raises(errors.InvalidOutcome):
        services.record_cause(_dialled(contact), "exploded", now=NOW)


@pytest.mark.parametrize("outcome", ["interested", "not_interested", "sale"])
def test_a_final_outcome_finishes_the_contact(agent, outcome):
    contact = make_contact(make_campaign())
    attempt = _dialled(contact, agent)
    services.record_outcome(attempt, outcome=outcome, agent=agent, note="ok", now=NOW)
    contact.refresh_from_db()
    attempt.refresh_from_db()
    assert contact.status == ContactStatus.DONE
    assert attempt.outcome == outcome
    assert AuditEvent.objects.filter(action="outbound.outcome", object_id=str(attempt.pk)).count() == 1


def test_callback_schedules_the_next_attempt_at_the_time_asked(agent):
    contact = make_contact(make_campaign(max_attempts=1))
    at = NOW + timedelta(days=1, hours=5)
    services.record_outcome(_dialled(contact, agent), outcome="callback", agent=agent, callback_at=at, now=NOW)
    contact.refresh_from_db()
    assert contact.status == ContactStatus.PENDING
    assert contact.next_attempt_at == at
    assert contact.attempts == 0  # the customer's wish is not an attempt used
    assert compliance.check(contact, now=at - timedelta(minutes=1)).code == "not_due"
    assert compliance.check(contact, now=at).allowed


def test_callback_in_the_past_or_after_the_campaign_is_refused(agent):
    contact = make_contact(make_campaign(date_to=date(2026, 12, 31)))
    attempt = _dialled(contact, agent)
    with pytest.raises(errors.InvalidCallbackTime):
        services.record_outcome(
            attempt, outcome="callback", agent=agent, callback_at=NOW - timedelta(minutes=1), now=NOW
        )
    with pytest.raises(errors.InvalidCallbackTime):
        services.record_outcome(attempt, outcome="callback", agent=agent, callback_at=local(2027, 1, 2), now=NOW)
    with pytest.raises(errors.InvalidCallbackTime):
        services.record_outcome(attempt, outcome="callback", agent=agent, now=NOW)


def test_dnc_request_lists_the_number_at_once(agent):
    campaign = make_campaign()
    contact = make_contact(campaign, phone="13900009999")
    elsewhere = make_contact(make_campaign(kind=CampaignKind.REVISIT), phone="13900009999")
    services.record_outcome(_dialled(contact, agent), outcome="dnc_request", agent=agent, now=NOW)
    contact.refresh_from_db()
    assert contact.status == ContactStatus.DNC
    entry = DoNotCall.objects.get(phone="13900009999", removed_at__isnull=True)
    assert entry.reason == DncReason.CALL_REQUEST
    assert entry.all_campaigns
    assert entry.added_by == agent
    assert compliance.check(elsewhere, now=NOW).code == "do_not_call"
    assert AuditEvent.objects.filter(action="outbound.dnc_add", object_id=str(entry.pk)).exists()


def test_wrong_number_marks_the_contact_invalid(agent):
    contact = make_contact(make_campaign())
    services.record_outcome(_dialled(contact, agent), outcome="wrong_number", agent=agent, now=NOW)
    contact.refresh_from_db()
    assert contact.status == ContactStatus.INVALID


def test_outcome_rules(agent):
    campaign = make_campaign(outcomes=["interested", "not_interested"])
    contact = make_contact(campaign)
    attempt = _dialled(contact, agent)
    with pytest.raises(errors.InvalidOutcome):
        services.record_outcome(attempt, outcome="sale", agent=agent, now=NOW)
    other = make_staff("agent", username="agent-y")
    with pytest.raises(errors.NotYourAttempt):
        services.record_outcome(attempt, outcome="interested", agent=other, now=NOW)
    services.record_outcome(attempt, outcome="interested", agent=agent, now=NOW)
    services.record_outcome(attempt, outcome="interested", agent=agent, now=NOW)  # the same twice: no-op
    with pytest.raises(errors.OutcomeAlreadyRecorded):
        services.record_outcome(attempt, outcome="not_interested", agent=agent, now=NOW)
    contact.refresh_from_db()
    assert contact.attempts == 1


def test_campaign_life_cycle_is_audited():
    lead = make_staff("team_lead", username="lead-x")
    fields = services.CampaignFields(
        name="理财产品推介",
        kind=CampaignKind.MARKETING,
        queue=make_queue(),
        window_start=time(9, 30),
        window_end=time(18, 0),
        date_from=date(2026, 12, 1),
        date_to=date(2099, 12, 31),
        retry_minutes={"busy": 15},
    )
    campaign = services.campaign_create(code="wm-2026", fields=fields, actor=lead)
    assert campaign.status == CampaignStatus.DRAFT
    with pytest.raises(errors.CampaignState):
        services.campaign_pause(campaign=campaign, actor=lead)
    services.campaign_start(campaign=campaign, actor=lead)
    services.campaign_pause(campaign=campaign, actor=lead)
    services.campaign_start(campaign=campaign, actor=lead)
    services.campaign_update(campaign=campaign, changes={"max_attempts": 5}, actor=lead)
    services.campaign_finish(campaign=campaign, actor=lead)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.max_attempts) == (CampaignStatus.FINISHED, 5)
    with pytest.raises(errors.CampaignState):
        services.campaign_start(campaign=campaign, actor=lead)
    with pytest.raises(errors.CampaignState):
        services.campaign_update(campaign=campaign, changes={"name": "x"}, actor=lead)
    actions = list(
        AuditEvent.objects.filter(object_type="campaign", object_id=str(campaign.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [
        "outbound.campaign_create",
        "outbound.campaign_start",
        "outbound.campaign_pause",
        "outbound.campaign_start",
        "outbound.campaign_update",
        "outbound.campaign_finish",
    ]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"date_to": date(2020, 1, 1)}, "invalid_dates"),
        ({"window_end": time(8, 0)}, "invalid_window"),
        ({"max_attempts": 0}, "invalid_max_attempts"),
        ({"outcomes": ["sale", "bogus"]}, "invalid_outcome"),
        ({"retry_minutes": {"busy": 0}}, "invalid_retry"),
        ({"retry_minutes": {"weird": 5}}, "invalid_retry"),
        ({"kind": "survey"}, "not_editable"),
    ],
)
def test_campaign_update_validates(changes, code):
    campaign = make_campaign()
    with pytest.raises(errors.CampaignInvalid) as raised:
        services.campaign_update(campaign=campaign, changes=changes, actor=None)
    assert raised.value.code == code


def test_dnc_add_and_remove():
    lead = make_staff("team_lead", username="lead-y")
    entry = services.dnc_add(phone="+86 139 0000 7777", reason=DncReason.REGULATOR, actor=lead)
    assert entry.phone == "13900007777"
    with pytest.raises(errors.AlreadyListed):
        services.dnc_add(phone="13900007777", reason=DncReason.COMPLAINT, actor=lead)
    with pytest.raises(errors.InvalidPhone):
        services.dnc_add(phone="12345", reason=DncReason.COMPLAINT, actor=lead)
    with pytest.raises(errors.CampaignInvalid):
        services.dnc_remove(entry=entry, note=" ", actor=lead)
    services.dnc_remove(entry=entry, note="号码已换主人", actor=lead)
    entry.refresh_from_db()
    assert entry.removed_at is not None and entry.removed_by == lead
    assert selectors.dnc_active("13900007777") is None
    # Listed again after removal: a new row, the old one kept.
    services.dnc_add(phone="13900007777", reason=DncReason.COMPLAINT, actor=lead)
    assert DoNotCall.objects.filter(phone="13900007777").count() == 2
    assert AuditEvent.objects.filter(action="outbound.dnc_remove", object_id=str(entry.pk)).exists()


def test_next_contact_order_and_eligibility():
    campaign = make_campaign(max_attempts=2)
    later = make_contact(campaign, phone="13500000001", next_attempt_at=NOW - timedelta(minutes=1))
    fresh = make_contact(campaign, phone="13500000002")
    make_contact(campaign, phone="13500000003", next_attempt_at=NOW + timedelta(minutes=5))  # not due
    make_contact(campaign, phone="13500000004", status=ContactStatus.DONE)
    make_contact(campaign, phone="13500000005", attempts=2)
    make_contact(campaign, phone="13500000006", reserved_by=make_staff("agent", username="agent-z"))
    assert list(selectors.due_contacts(campaign, now=NOW)) == [fresh, later]
    assert selectors.next_contact(campaign, now=NOW) == fresh


def test_campaign_figures():
    agent = make_staff("agent", username="agent-f")
    campaign = make_campaign()
    one = make_contact(campaign, phone="13500000011")
    two = make_contact(campaign, phone="13500000012")
    three = make_contact(campaign, phone="13500000013")
    services.record_cause(make_attempt(one, at=NOW), "busy", now=NOW)
    sale = make_attempt(one, at=NOW + timedelta(minutes=20), answered=True, agent=agent)
    services.record_outcome(sale, outcome="sale", agent=agent, now=NOW)
    no = make_attempt(two, at=NOW, answered=True, agent=agent)
    services.record_outcome(no, outcome="not_interested", agent=agent, now=NOW)
    make_attempt(three, at=NOW, answered=True)  # answered, nobody recorded anything: abandoned
    figures = selectors.campaign_figures(campaign, date(2026, 12, 1), date(2026, 12, 1))
    assert figures["attempts"] == 4
    assert figures["contacts_attempted"] == 3
    assert figures["attempts_per_contact"] == round(4 / 3, 4)
    assert figures["contacts_reached"] == 3
    assert figures["right_party"] == 2
    assert figures["conversions"] == 1
    assert figures["conversion"] == round(1 / 3, 4)
    assert figures["abandoned"] == 1
    assert selectors.campaign_figures(campaign, date(2026, 12, 2), date(2026, 12, 2))["attempts"] == 0
    progress = selectors.campaign_progress(campaign)
    assert progress["contacts"] == 3 and progress["left"] == 1  # three: still pending
    assert DialAttempt.objects.count() == 4
