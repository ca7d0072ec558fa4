"""What may go to the SMS gateway now (issue 15 point 6; ``notifications.policy``): quiet hours
defer marketing and nothing else (boundaries 20:59, 21:00, 07:59, 08:00 local), the marketing
quota per phone cancels with its reason, the marketing rate defers, the flood limit per phone
defers the excess of every kind (also within one batch) and the deferred rows go later, the
other kinds are claimed before marketing, the sweep hands marketing out within its rate, the
history on the maintainer's page says why and until when. On PostgreSQL, workers racing for one
phone (and for the marketing rate) never exceed a limit together."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from notifications import delivery, policy
from notifications.models import SmsEvent, SmsOutbox
from notifications.services import sms_enqueue
from org.roles import Role
from tests.factories import make_staff
from tests.test_sms_delivery import FakeGateway

Kind, Status = SmsOutbox.Kind, SmsOutbox.Status
SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 12, 1, tzinfo=SHANGHAI)


def local(hour: int, minute: int = 0, *, days: int = 0) -> datetime:
    return DAY.replace(hour=hour, minute=minute) + timedelta(days=days)


NOON = local(12)


@pytest.fixture(autouse=True)
def limits(settings, monkeypatch):
    """The tests drive delivery themselves; the defaults of the settings, stated here."""
    monkeypatch.setattr(delivery, "schedule", lambda ids: None)
    settings.SMS_QUIET_HOURS, settings.SMS_QUIET_HOURS_TZ = "21:00-08:00", "Asia/Shanghai"
    settings.SMS_MARKETING_MAX_PER_DAY, settings.SMS_MARKETING_MAX_PER_30_DAYS = 1, 4
    settings.SMS_MARKETING_MAX_PER_MINUTE = 600
    settings.SMS_FLOOD_MAX, settings.SMS_FLOOD_WINDOW_S = 10, 600
    return settings


def sms(
    phone: str = "13900000001", kind: str = Kind.TRANSACTION_NOTICE, text: str = "【农合银行】您尾号0123的账户"
) -> int:
    return sms_enqueue(phone=phone, kind=kind, text=text, created_at=DAY).pk


def marketing(phone: str = "13900000001") -> int:
    return sms(phone, Kind.MARKETING, "【农合银行】理财产品“稳盈”今日发售，详询95580。")


def row(pk: int) -> SmsOutbox:
    return SmsOutbox.objects.get(pk=pk)


def last_event(pk: int) -> SmsEvent:
    return SmsEvent.objects.filter(message_id=pk).order_by("-pk").first()


def claimed(ids, *, now: datetime, **kwargs) -> list[int]:
    return [r.pk for r in delivery.claim(ids=ids, now=now, **kwargs)]


def handed_out(*, at: datetime, kind: str = Kind.MARKETING, phone: str = "13900000001", status=Status.SENT) -> int:
    """A message of this kind that went to the gateway at ``at``."""
    pk = sms_enqueue(phone=phone, kind=kind, text="【农合银行】早前的短信", created_at=at - timedelta(seconds=5)).pk
    SmsOutbox.objects.filter(pk=pk).update(status=status, claimed_at=at, sent_at=at)
    SmsEvent.objects.create(message_id=pk, status=Status.SENDING, attempt=1, at=at)
    return pk


# --- quiet hours ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("now", "until"),
    [
        (local(20, 59), None),
        (local(21, 0), local(8, 0, days=1)),
        (local(23, 30), local(8, 0, days=1)),
        (local(0, 0), local(8, 0)),
        (local(7, 59), local(8, 0)),
        (local(8, 0), None),
    ],
)
def test_quiet_hours_defer_marketing_to_their_end_and_never_a_transaction_notice(now, until):
    promotion, notice = marketing("13900000001"), sms("13900000002")
    got = claimed([promotion, notice], now=now)
    assert notice in got  # a transaction notice goes at any hour
    if until is None:
        assert promotion in got and row(promotion).status == Status.SENDING
        return
    assert promotion not in got
    held = row(promotion)
    assert (held.status, held.next_attempt_at, held.attempts) == (Status.PENDING, until, 0)
    event = last_event(promotion)
    assert event.status == Status.PENDING
    assert event.detail == f"deferred: quiet hours 21:00–08:00 (marketing) until {until:%Y-%m-%d} 08:00:00"
    # Not due before the end; at the end it goes.
    assert claimed([promotion], now=until - timedelta(seconds=1)) == []
    assert claimed([promotion], now=until) == [promotion]


@pytest.mark.django_db
def test_quiet_hours_apply_to_no_other_kind():
    ids = [sms(f"1390000000{n}", kind) for n, kind in enumerate(k for k in Kind.values if k != Kind.MARKETING)]
    assert sorted(claimed(ids, now=local(23))) == sorted(ids)


@pytest.mark.django_db
def test_a_marketing_message_claimed_before_quiet_hours_is_not_sent_inside_them(limits):
    promotion = marketing()
    [claimed_row] = delivery.claim(ids=[promotion], now=NOON)
    limits.SMS_QUIET_HOURS = "00:00-23:59"  # the real clock is inside them when it would send
    gateway = FakeGateway()
    assert delivery.send_claimed(claimed_row, via=gateway) == Status.PENDING
    assert gateway.calls == []
    held = row(promotion)
    assert (held.status, held.claim, held.attempts) == (Status.PENDING, "", 0)
    assert held.next_attempt_at is not None
    assert last_event(promotion).detail.startswith("deferred: quiet hours 00:00–23:59 (marketing) until ")


def test_quiet_hours_settings():
    assert policy.quiet_until(local(12)) is None
    assert policy.quiet_until(local(21).astimezone(ZoneInfo("UTC"))) == local(8, days=1)  # any zone in, local out


def test_quiet_hours_inside_one_day_and_none(limits):
    limits.SMS_QUIET_HOURS = "12:00-14:00"
    assert policy.quiet_until(local(11, 59)) is None
    assert policy.quiet_until(local(12)) == local(14)
    assert policy.quiet_until(local(14)) is None
    limits.SMS_QUIET_HOURS = ""
    assert policy.quiet_until(local(23)) is None


# --- marketing quota per phone, marketing rate --------------------------------------------------------


@pytest.mark.django_db
def test_the_daily_marketing_quota_cancels_with_its_reason():
    handed_out(at=NOON - timedelta(hours=23))
    handed_out(at=NOON - timedelta(hours=1), kind=Kind.TRANSACTION_NOTICE)  # other kinds do not count
    promotion, other_phone = marketing("13900000001"), marketing("13900000002")
    assert claimed([promotion, other_phone], now=NOON) == [other_phone]
    cancelled = row(promotion)
    assert cancelled.status == Status.CANCELLED
    assert cancelled.last_error == "cancelled: marketing quota of this phone reached (1 per day)"
    event = last_event(promotion)
    assert (event.status, event.detail) == (Status.CANCELLED, cancelled.last_error)
    # A day after that message the phone may have the next one.
    later = marketing("13900000001")
    assert claimed([later], now=NOON + timedelta(hours=1, seconds=1)) == [later]


@pytest.mark.django_db
def test_the_30_day_marketing_quota_counts_what_went_to_the_gateway():
    for days in (2, 9, 16):
        handed_out(at=NOON - timedelta(days=days))
    handed_out(at=NOON - timedelta(days=23), status=Status.DELIVERED)
    handed_out(at=NOON - timedelta(days=31))  # out of the window
    failed = handed_out(at=NOON - timedelta(days=3), status=Status.FAILED)  # never reached the phone
    assert row(failed).status == Status.FAILED
    promotion = marketing()
    assert claimed([promotion], now=NOON) == []
    assert row(promotion).status == Status.CANCELLED
    assert last_event(promotion).detail == "cancelled: marketing quota of this phone reached (4 per 30 days)"


@pytest.mark.django_db
def test_the_marketing_quota_holds_within_one_batch():
    first, second = marketing(), marketing()
    assert claimed([first, second], now=NOON) == [first]
    assert row(second).status == Status.CANCELLED


@pytest.mark.django_db
def test_the_marketing_rate_defers_and_spares_the_notices(limits):
    # The rate counts the claims' events, which carry the real clock: so does this test.
    limits.SMS_MARKETING_MAX_PER_MINUTE, limits.SMS_QUIET_HOURS = 3, ""
    now = timezone.now()
    handed_out(at=now - timedelta(seconds=30), phone="13900000099")  # one in the last minute
    promotions = [marketing(f"1390000001{n}") for n in range(4)]
    notices = [sms(f"1390000002{n}") for n in range(3)]
    got = claimed(promotions + notices, now=now, limit=50)
    assert sorted(got) == sorted(notices + promotions[:2])
    until = now + timedelta(seconds=30)
    for pk in promotions[2:]:
        held = row(pk)
        assert (held.status, held.next_attempt_at) == (Status.PENDING, until)
        assert last_event(pk).detail == (
            f"deferred: marketing rate (3 per minute) until {timezone.localtime(until):%Y-%m-%d %H:%M:%S}"
        )
    # When the minute has passed they go.
    assert sorted(claimed(promotions[2:], now=now + timedelta(seconds=61))) == sorted(promotions[2:])


# --- flood limit, every kind ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_flood_limit_defers_the_excess_of_every_kind_and_it_goes_later(limits):
    limits.SMS_FLOOD_MAX = 3
    handed_out(at=NOON - timedelta(minutes=4), kind=Kind.SERVICE)  # in the window: counts
    handed_out(at=NOON - timedelta(minutes=11), kind=Kind.SERVICE)  # out of it
    ids = [sms(kind=kind) for kind in (Kind.TRANSACTION_NOTICE, Kind.LOSS_REPORT, Kind.TRANSACTION_NOTICE)]
    ids += [sms(kind=Kind.STAFF_NOTICE), sms(kind=Kind.SERVICE)]
    other_phone = sms("13900000002")
    gateway = FakeGateway()
    rows = delivery.claim(ids=ids + [other_phone], now=NOON)
    assert [r.pk for r in rows] == ids[:2] + [other_phone]  # two more for this phone, in one batch
    for r in rows:
        delivery.send_claimed(r, via=gateway)
    for pk in ids[2:]:
        held = row(pk)
        assert (held.status, held.attempts) == (Status.PENDING, 0)  # never dropped nor cancelled
        assert held.next_attempt_at == NOON + timedelta(minutes=6)  # when the oldest leaves the window
        assert last_event(pk).detail == "deferred: flood limit of this phone (3 per 10 min) until 2026-12-01 12:06:00"
    # Not due yet; then the window has room again (the one of 11:56 left it): nothing is lost.
    assert claimed(ids, now=NOON + timedelta(minutes=5)) == []
    now = NOON + timedelta(minutes=6)
    again = delivery.claim(ids=ids, now=now)
    assert [r.pk for r in again] == [ids[2]]  # two of 12:00 are still in the window: room for one
    for r in again:
        delivery.send_claimed(r, via=gateway)
    for step in range(1, 4):
        for r in delivery.claim(ids=ids, now=now + timedelta(minutes=10 * step, seconds=1)):
            delivery.send_claimed(r, via=gateway)
    assert set(SmsOutbox.objects.filter(pk__in=ids).values_list("status", flat=True)) == {Status.SENT}
    assert sorted(gateway.calls) == sorted(ids + [other_phone])  # each once


@pytest.mark.django_db
def test_the_sweep_hands_deferred_rows_out_when_due(limits, monkeypatch):
    limits.SMS_FLOOD_MAX = 1
    ids = [sms(), sms()]
    [first] = delivery.claim(ids=ids, now=NOON)
    delivery.send_claimed(first, via=FakeGateway())
    assert first.pk == ids[0]
    scheduled: list[int] = []
    monkeypatch.setattr(delivery, "schedule", scheduled.extend)
    delivery.sweep(now=NOON + timedelta(minutes=9))
    assert scheduled == []
    delivery.sweep(now=NOON + timedelta(minutes=10))
    assert scheduled == ids[1:]


# --- priority -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_claims_take_the_other_kinds_before_marketing():
    promotions = [marketing(f"1390000001{n}") for n in range(3)]  # older
    notice = sms_enqueue(
        phone="13900000002", kind=Kind.TRANSACTION_NOTICE, text="【农合银行】入账", created_at=DAY + timedelta(hours=1)
    ).pk
    assert claimed(None, now=NOON, limit=2) == [notice, promotions[0]]
    # A batch of ids: the notice first whatever the order of the ids.
    later = sms("13900000003")
    assert claimed(promotions[1:] + [later], now=NOON, limit=1) == [later]
    # A task's fill takes the other kinds only: marketing goes through its own rows and the sweep.
    mine = sms("13900000004")
    assert claimed([mine], now=NOON, limit=5, fill=True) == [mine]


@pytest.mark.django_db
def test_the_sweep_takes_the_other_kinds_first_and_marketing_within_its_rate(limits, monkeypatch):
    limits.SMS_MARKETING_MAX_PER_MINUTE = 3
    handed_out(at=NOON - timedelta(seconds=10), phone="13900000099")
    promotions = [marketing(f"1390000001{n}") for n in range(5)]
    notice = sms_enqueue(
        phone="13900000002", kind=Kind.SERVICE, text="【农合银行】工单", created_at=DAY + timedelta(hours=1)
    ).pk
    scheduled: list[int] = []
    monkeypatch.setattr(delivery, "schedule", scheduled.extend)
    assert delivery.sweep(now=NOON)["scheduled"] == 3
    assert scheduled == [notice] + promotions[:2]
    scheduled.clear()
    delivery.sweep(now=local(22))  # quiet hours: all of them, for their claim to defer them with a reason
    assert scheduled == [notice] + promotions


# --- the maintainer's page --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_history_on_the_message_page_says_why_and_until_when(client_for, limits):
    limits.SMS_FLOOD_MAX = 1
    first, second = sms(), sms()
    promotion = marketing("13900000002")
    claimed([first, second, promotion], now=local(21, 30))
    client = client_for(make_staff(Role.MAINTAINER, username="maint"))
    html = client.get(f"/notifications/sms/{second}/").content.decode()
    assert "deferred: flood limit of this phone (1 per 10 min) until 2026-12-01 21:40:00" in html
    assert "2026-12-01 21:40:00" in html  # the next attempt
    html = client.get(f"/notifications/sms/{promotion}/").content.decode()
    assert "deferred: quiet hours 21:00–08:00 (marketing) until 2026-12-02 08:00:00" in html


# --- PostgreSQL: workers racing ---------------------------------------------------------------------


def race(workers: int, work) -> list[int]:
    """Run ``work(i)`` in ``workers`` threads (own connections) at once; what they claimed."""
    barrier = threading.Barrier(workers)
    got: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        try:
            barrier.wait()
            result = work(index)
            with lock:
                got.extend(result)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return got


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_workers_racing_for_one_phone_keep_the_flood_limit_together(on_postgres, limits, attempt):
    limits.SMS_FLOOD_MAX = 3
    ids = [sms() for _ in range(16)]
    mine = [ids[i::4] for i in range(4)]
    got = race(4, lambda i: claimed(mine[i], now=NOON))
    assert len(got) == 3
    statuses = dict(SmsOutbox.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert sorted(pk for pk, status in statuses.items() if status == Status.SENDING) == sorted(got)
    assert sum(status == Status.PENDING for status in statuses.values()) == 13  # deferred, none lost


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_workers_racing_for_one_phone_keep_its_marketing_quota_together(on_postgres, attempt):
    # One phone, four promotions, four workers: one goes, three are cancelled.
    promotions = [marketing() for _ in range(4)]
    got = race(4, lambda i: claimed([promotions[i]], now=NOON))
    assert len(got) == 1
    assert SmsOutbox.objects.filter(pk__in=promotions, status=Status.CANCELLED).count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_workers_racing_keep_the_marketing_rate_together(on_postgres, limits, attempt):
    # Many phones, a rate of 5 a minute: five go, the rest wait (the real clock: see above).
    limits.SMS_MARKETING_MAX_PER_MINUTE, limits.SMS_QUIET_HOURS = 5, ""
    many = [marketing(f"1391000{n:04d}") for n in range(16)]
    now = timezone.now()
    got = race(4, lambda i: claimed(many[i::4], now=now))
    assert len(got) == 5
    assert SmsOutbox.objects.filter(pk__in=many, status=Status.PENDING).count() == 11
