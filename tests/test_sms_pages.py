"""The maintainer's SMS page (``/notifications/sms/``): the outbox search, one message with its
history, the dead letters with requeue and cancel (audited, failed messages only, the maintainer
only), the gateway's health figures, roles, English and fixed query counts."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from notifications import delivery, selectors
from notifications.gateways.base import GatewayError, GatewayRejected, OutgoingSms, Submitted
from notifications.models import SmsEvent, SmsOutbox
from notifications.services import sms_enqueue
from org.navigation import display_name
from org.roles import Role
from tests.factories import make_staff

pytestmark = pytest.mark.django_db
Status = SmsOutbox.Status
Kind = SmsOutbox.Kind
SHANGHAI = ZoneInfo("Asia/Shanghai")  # settings.TIME_ZONE: the page's local dates


@pytest.fixture(autouse=True)
def no_task(monkeypatch, tmp_path):
    """The tests move rows themselves (a requeue would hand its row to the eager task); the file
    gateway writes into the test's own directory."""
    from notifications.gateways.file import FileGateway

    monkeypatch.setattr(delivery, "schedule", lambda ids: None)
    monkeypatch.setattr(delivery, "gateway", lambda: FileGateway(str(tmp_path)))


@pytest.fixture
def maintainer():
    return make_staff(Role.MAINTAINER, username="maint")


@pytest.fixture
def director():
    return make_staff(Role.DIRECTOR, username="director")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def message(phone="13900000001", kind=Kind.SERVICE, status=Status.PENDING, created_at=None, **fields):
    row = sms_enqueue(phone=phone, kind=kind, text="【农合银行】您的工单000123已办结。", created_at=created_at)
    SmsOutbox.objects.filter(pk=row.pk).update(status=status, **fields)
    row.refresh_from_db()
    return row


def listed(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-sms="(\d+)">', html)]


class Script:
    """A gateway answering each send in turn: ``ok``, ``timeout`` (temporary), ``reject``."""

    name = "fake"
    can_query = True

    def __init__(self, *script: str) -> None:
        self.script = list(script)

    def send(self, message: OutgoingSms) -> Submitted:
        outcome = self.script.pop(0) if self.script else "ok"
        if outcome == "timeout":
            raise GatewayError("timeout")
        if outcome == "reject":
            raise GatewayRejected("invalid number")
        return Submitted(gateway_id=f"g-{message.id}")

    def query(self, message: OutgoingSms) -> Submitted | None:
        return None


def fail(row: SmsOutbox) -> SmsOutbox:
    """Through delivery: a timeout (retry), then a refusal (failed)."""
    via = Script("timeout", "reject")
    [claimed] = delivery.claim(ids=[row.pk])
    delivery.send_claimed(claimed, via=via)
    [claimed] = delivery.claim(ids=[row.pk], now=timezone.now() + timedelta(hours=2))
    delivery.send_claimed(claimed, via=via)
    row.refresh_from_db()
    assert row.status == Status.FAILED
    return row


# --- the search ---------------------------------------------------------------------------------


def test_the_outbox_is_newest_first_and_filters_by_phone_kind_status_and_local_dates(client_for, maintainer):
    late_evening = message(created_at=local(2026, 3, 1, 23, 30))  # 15:30 UTC, still 1 March locally
    after_midnight = message(created_at=local(2026, 3, 2, 0, 10), kind=Kind.TRANSACTION_NOTICE)
    other_phone = message(phone="13700000002", created_at=local(2026, 3, 2, 9, 0), status=Status.FAILED)
    newest = message(created_at=local(2026, 3, 3, 8, 0), status=Status.DELIVERED, kind=Kind.LOSS_REPORT)
    client = client_for(maintainer)

    def search(**params) -> list[int]:
        response = client.get("/notifications/sms/", params)
        assert response.status_code == 200
        return listed(response.content.decode())

    assert search() == [newest.pk, other_phone.pk, after_midnight.pk, late_evening.pk]
    # Digits only: spaces and dashes typed with the number are dropped; the full number matches.
    assert search(phone="139-0000 0001") == [newest.pk, after_midnight.pk, late_evening.pk]
    assert search(phone="13700000002") == [other_phone.pk]
    assert search(kind="transaction_notice") == [after_midnight.pk]
    assert search(status="failed") == [other_phone.pk]
    assert search(date_from="2026-03-02", date_to="2026-03-02") == [other_phone.pk, after_midnight.pk]
    assert search(date_to="2026-03-01") == [late_evening.pk]
    assert search(date_from="2026-03-03") == [newest.pk]
    assert search(phone="13900000001", date_from="2026-03-02", kind="loss_report") == [newest.pk]


def test_the_outbox_row_shows_what_the_maintainer_needs(client_for, maintainer):
    sent = message(
        created_at=local(2026, 3, 1, 9, 0),
        status=Status.SENT,
        attempts=2,
        gateway="smpp",
        gateway_id="abc",
        sent_at=local(2026, 3, 1, 9, 0, 5),
        last_error="",
        kind=Kind.TRANSACTION_NOTICE,
    )
    html = client_for(maintainer).get("/notifications/sms/").content.decode()
    row = re.search(rf'<tr data-sms="{sent.pk}">(.*?)</tr>', html, re.S).group(1)
    for text in ("2026-03-01 09:00:00", "13900000001", "动账通知", "sms-status-sent", "已发送", ">2<", "smpp"):
        assert text in row, text
    assert "2026-03-01 09:00:05" in row


def test_the_outbox_pages(client_for, maintainer, monkeypatch):
    from notifications import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    rows = [message(created_at=local(2026, 3, 1, 9, minute)) for minute in range(5)]
    client = client_for(maintainer)
    first = client.get("/notifications/sms/", {"status": "pending"}).content.decode()
    assert listed(first) == [rows[4].pk, rows[3].pk] and "status=pending&amp;page=2" in first
    assert listed(client.get("/notifications/sms/", {"status": "pending", "page": 3}).content.decode()) == [rows[0].pk]


@pytest.mark.parametrize(
    "params",
    [{"phone": "abc"}, {"date_from": "2026-03-05", "date_to": "2026-03-01"}, {"status": "lost"}, {"kind": "x"}],
)
def test_a_bad_filter_says_so_and_lists_nothing(client_for, maintainer, params):
    message()
    html = client_for(maintainer).get("/notifications/sms/", params).content.decode()
    assert 'id="filter-errors"' in html and 'id="sms-count"' not in html


# --- one message --------------------------------------------------------------------------------


def test_a_messages_page_shows_its_text_and_history_with_who_decided(client_for, maintainer):
    row = fail(message())
    delivery.requeue(message=row, actor=maintainer)
    html = client_for(maintainer).get(f"/notifications/sms/{row.pk}/").content.decode()
    assert "【农合银行】您的工单000123已办结。" in html and "13900000001" in html
    history = re.search(r'<table class="table sms-history" id="sms-history">(.*?)</table>', html, re.S).group(1)
    statuses = re.findall(r"sms-status sms-status-(\w+)", history)
    assert statuses == ["sending", "pending", "sending", "failed", "pending"]
    assert "retry: timeout" in history and "rejected" in history and "requeued" in history
    assert display_name(maintainer) in history
    # Now pending: no buttons.
    assert 'id="sms-decide"' not in html


def test_an_unknown_message_is_not_found(client_for, maintainer):
    assert client_for(maintainer).get("/notifications/sms/999999/").status_code == 404


# --- requeue and cancel ---------------------------------------------------------------------------


def test_the_maintainer_requeues_a_failed_message_audited(client_for, maintainer):
    row = fail(message())
    client = client_for(maintainer)
    html = client.get(f"/notifications/sms/{row.pk}/").content.decode()
    assert 'id="sms-decide"' in html and f'action="/notifications/sms/{row.pk}/requeue/"' in html
    assert "csrfmiddlewaretoken" in html
    response = client.post(f"/notifications/sms/{row.pk}/requeue/", {"next": f"/notifications/sms/{row.pk}/"})
    assert response.status_code == 302 and response["Location"] == f"/notifications/sms/{row.pk}/"
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.PENDING, 0)
    audit = AuditEvent.objects.get(action="sms.requeue")
    assert (audit.actor, audit.object_id, audit.ip_address) == (maintainer, str(row.pk), "127.0.0.1")
    assert audit.details == {"last_error": "rejected: invalid number"}
    event = SmsEvent.objects.filter(message=row).last()
    assert (event.status, event.actor) == (Status.PENDING, maintainer)


def test_the_maintainer_cancels_from_the_dead_letters_and_comes_back_to_them(client_for, maintainer):
    row = fail(message())
    client = client_for(maintainer)
    html = client.get("/notifications/sms/dead-letters/").content.decode()
    assert listed(html) == [row.pk] and f'action="/notifications/sms/{row.pk}/cancel/"' in html
    response = client.post(f"/notifications/sms/{row.pk}/cancel/", {"next": "/notifications/sms/dead-letters/"})
    assert response["Location"] == "/notifications/sms/dead-letters/"
    row.refresh_from_db()
    assert row.status == Status.CANCELLED
    assert AuditEvent.objects.filter(action="sms.cancel", actor=maintainer, object_id=str(row.pk)).count() == 1
    assert listed(client.get("/notifications/sms/dead-letters/").content.decode()) == []


@pytest.mark.parametrize("status", [Status.PENDING, Status.SENDING, Status.SENT, Status.DELIVERED, Status.CANCELLED])
@pytest.mark.parametrize("action", ["requeue", "cancel"])
def test_only_a_failed_message_is_requeued_or_cancelled_and_the_refusal_is_polite(
    client_for, maintainer, status, action
):
    row = message(status=status)
    client = client_for(maintainer)
    assert 'id="sms-decide"' not in client.get(f"/notifications/sms/{row.pk}/").content.decode()
    response = client.post(f"/notifications/sms/{row.pk}/{action}/", follow=True)
    assert response.status_code == 200
    assert "只有发送失败的短信才能重新发送或取消。" in response.content.decode()
    row.refresh_from_db()
    assert row.status == status
    assert not AuditEvent.objects.filter(action__startswith="sms.").exists()


@pytest.mark.parametrize("action", ["requeue", "cancel"])
def test_the_director_reads_but_cannot_requeue_or_cancel(client_for, director, action):
    row = fail(message())
    client = client_for(director)
    assert client.get("/notifications/sms/").status_code == 200
    html = client.get(f"/notifications/sms/{row.pk}/").content.decode()
    assert 'id="sms-decide"' not in html and "/requeue/" not in html
    assert "/cancel/" not in client.get("/notifications/sms/dead-letters/").content.decode()
    assert client.post(f"/notifications/sms/{row.pk}/{action}/").status_code == 403
    row.refresh_from_db()
    assert row.status == Status.FAILED
    assert AuditEvent.objects.filter(action="auth.permission_denied", actor=director).exists()


def test_the_actions_are_post_only_with_csrf(client, maintainer):
    from django.test import Client

    row = fail(message())
    client.force_login(maintainer)
    assert client.get(f"/notifications/sms/{row.pk}/requeue/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(maintainer)
    assert strict.post(f"/notifications/sms/{row.pk}/requeue/").status_code == 403
    row.refresh_from_db()
    assert row.status == Status.FAILED


def test_a_foreign_next_is_not_followed(client_for, maintainer):
    row = fail(message())
    response = client_for(maintainer).post(f"/notifications/sms/{row.pk}/cancel/", {"next": "https://evil.example/"})
    assert response["Location"] == f"/notifications/sms/{row.pk}/"


def test_the_dead_letters_are_the_failed_ones_oldest_first(client_for, maintainer):
    old = message(status=Status.FAILED, created_at=local(2026, 3, 1, 8, 0))
    new = message(status=Status.FAILED, created_at=local(2026, 3, 2, 8, 0))
    message(status=Status.CANCELLED, created_at=local(2026, 3, 1, 7, 0))
    message(status=Status.PENDING, created_at=local(2026, 3, 1, 6, 0))
    html = client_for(maintainer).get("/notifications/sms/dead-letters/").content.decode()
    assert listed(html) == [old.pk, new.pk]
    assert re.search(r'id="dead-count">2<', html)


# --- gateway health -------------------------------------------------------------------------------


def event(row, status, at, detail=""):
    return SmsEvent.objects.create(message=row, status=status, attempt=1, detail=detail, at=at)


def test_the_gateway_health_figures(settings, django_assert_num_queries):
    settings.SMS_GATEWAY = "smpp"
    now = timezone.now().replace(microsecond=0)
    a = message(status=Status.PENDING, created_at=now - timedelta(minutes=30))  # oldest pending: 30 min
    b = message(status=Status.PENDING, created_at=now - timedelta(minutes=5))
    c = message(status=Status.SENDING, created_at=now - timedelta(minutes=50))
    d = message(status=Status.FAILED, created_at=now - timedelta(hours=3))
    e = message(status=Status.SENT, created_at=now - timedelta(hours=2), sent_at=now - timedelta(minutes=20))
    f = message(status=Status.DELIVERED, created_at=now - timedelta(hours=4), sent_at=now - timedelta(hours=3))
    # Events in time order (as delivery appends them). Outside the hour: 2 errors; inside: 3.
    event(f, Status.SENT, now - timedelta(hours=3))
    event(d, Status.PENDING, now - timedelta(minutes=90), "retry: timeout")
    event(d, Status.FAILED, now - timedelta(minutes=61), "rejected")
    event(c, Status.PENDING, now - timedelta(minutes=50), "retry: timeout")  # 1
    event(a, Status.PENDING, now - timedelta(minutes=40), "requeued")  # not an error
    event(b, Status.PENDING, now - timedelta(minutes=35), "not taken: resend")  # not an error
    event(e, Status.SENT, now - timedelta(minutes=20))  # the last success
    event(b, Status.FAILED, now - timedelta(minutes=10), "receipt")  # 2
    event(a, Status.PENDING, now - timedelta(minutes=1), "retry: link down")  # 3
    event(f, Status.DELIVERED, now - timedelta(seconds=30))
    with django_assert_num_queries(3):
        health = selectors.sms_gateway_health(now=now)
    assert health.gateway == "smpp"
    assert health.last_success_at == now - timedelta(minutes=20)
    assert health.errors_last_hour == 3
    assert (health.queue.pending, health.queue.sending, health.queue.failed) == (2, 1, 1)
    assert health.queue.oldest_pending_at == now - timedelta(minutes=30)
    assert health.oldest_pending_age == timedelta(minutes=30)


def test_the_gateway_health_of_an_empty_outbox(client_for, maintainer):
    health = selectors.sms_gateway_health()
    assert (health.last_success_at, health.errors_last_hour, health.oldest_pending_age) == (None, 0, None)
    assert (health.queue.pending, health.queue.sending, health.queue.failed) == (0, 0, 0)
    html = client_for(maintainer).get("/notifications/sms/").content.decode()
    assert 'id="health-errors">0<' in html and 'id="health-gateway">file<' in html


def test_the_page_shows_the_health_at_the_top(client_for, maintainer):
    row = message(created_at=timezone.now() - timedelta(minutes=3))
    fail(message(phone="13700000002"))
    delivery.deliver(ids=[row.pk])  # the file gateway of the test settings
    html = client_for(maintainer).get("/notifications/sms/").content.decode()
    assert html.index('id="sms-health"') < html.index('id="sms-filters"')
    assert re.search(r'id="health-errors">2<', html)  # the retry and the refusal just now
    assert re.search(r'id="health-last-success">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d<', html)
    assert re.search(r'id="dead-count">1<', html)


# --- who, language, queries -----------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.AGENT, Role.TEAM_LEAD, Role.ANALYST, Role.RISK_OFFICER, Role.UNIT_STAFF])
def test_other_roles_get_403(client_for, role):
    row = fail(message())
    client = client_for(make_staff(role))
    for url in ("/notifications/sms/", "/notifications/sms/dead-letters/", f"/notifications/sms/{row.pk}/"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/notifications/sms/{row.pk}/requeue/").status_code == 403
    assert "/notifications/sms/" not in client.get("/").content.decode()


def test_anonymous_goes_to_the_login(client):
    response = client.get("/notifications/sms/")
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("who", ["maintainer", "director"])
def test_the_navigation_links_the_page(client_for, request, who):
    user = request.getfixturevalue(who)
    html = client_for(user).get("/notifications/sms/").content.decode()
    assert 'href="/notifications/sms/" aria-current="page"' in html


def test_chinese_by_default(client_for, maintainer):
    fail(message(kind=Kind.LOSS_REPORT))
    html = client_for(maintainer).get("/notifications/sms/").content.decode()
    assert '<html lang="zh-hans">' in html and "挂失通知" in html and "发送失败" in html


def test_the_pages_in_english(client_for, maintainer):
    row = fail(message(kind=Kind.LOSS_REPORT))
    delivery.deliver(ids=[message().pk])
    client = client_for(maintainer)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get("/notifications/sms/").content.decode()
    for text in ("<h1>SMS outbox</h1>", "Last successful send", "just now", "Errors in the last hour", "Loss report"):
        assert text in html, text
    assert ">Failed<" in html and ">Sent<" in html and "0 pending · 0 sending" in html
    html = client.get(f"/notifications/sms/{row.pk}/").content.decode()
    assert "Delivery history" in html and "Requeue" in html
    response = client.post(f"/notifications/sms/{row.pk}/requeue/", follow=True)
    assert f"SMS {row.pk} is queued to be sent again." in response.content.decode()
    response = client.post(f"/notifications/sms/{row.pk}/requeue/", follow=True)
    assert "Only a failed message can be requeued or cancelled." in response.content.decode()


def _queries(client, url, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params).status_code == 200
    return len(captured)


def test_the_pages_take_a_fixed_number_of_queries(client_for, maintainer):
    client = client_for(maintainer)
    one = fail(message())
    few = {
        "outbox": _queries(client, "/notifications/sms/"),
        "dead": _queries(client, "/notifications/sms/dead-letters/"),
        "message": _queries(client, f"/notifications/sms/{one.pk}/"),
    }
    for _ in range(12):
        fail(message())
    delivery.requeue(message=one, actor=maintainer)
    fail(one)
    many = {
        "outbox": _queries(client, "/notifications/sms/"),
        "dead": _queries(client, "/notifications/sms/dead-letters/"),
        "message": _queries(client, f"/notifications/sms/{one.pk}/"),
    }
    assert few == many
    # Session, user, profile; then the count, three health figures and the page (outbox, dead
    # letters), or the message and its history with the actors (message).
    assert many == {"outbox": 8, "dead": 8, "message": 5}
