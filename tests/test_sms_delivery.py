"""SMS delivery, each message once (issue 15): the task run twice, a timeout then success, a
gateway that may have taken a message, the worker killed after the gateway accepted and before
the row was marked, receipts, the dead-letter list. A fake gateway counts what reached it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from notifications import delivery
from notifications.errors import NotDeadLetter
from notifications.gateways.base import GatewayError, GatewayRejected, OutgoingSms, Receipt, Submitted
from notifications.gateways.file import FileGateway
from notifications.models import SmsEvent, SmsOutbox
from notifications.services import sms_enqueue
from org.roles import Role
from tests.factories import make_staff

pytestmark = pytest.mark.django_db


class FakeGateway:
    """Takes messages into ``taken`` (by row id, as a real idempotent gateway would keep them);
    ``script`` gives the outcome of each call in turn (``ok``, ``timeout``, ``lost``, ``reject``)."""

    name = "fake"
    can_query = True

    def __init__(self, *script: str) -> None:
        self.script = list(script)
        self.calls: list[int] = []
        self.taken: dict[int, str] = {}

    def send(self, message: OutgoingSms) -> Submitted:
        self.calls.append(message.id)
        outcome = self.script.pop(0) if self.script else "ok"
        if outcome == "timeout":  # refused before it went out
            raise GatewayError("timeout")
        if outcome == "reject":
            raise GatewayRejected("invalid number")
        self.taken.setdefault(message.id, f"g-{message.id}")
        if outcome == "lost":  # taken, but the answer never came back
            raise GatewayError("timeout after sending", maybe_sent=True)
        return Submitted(gateway_id=self.taken[message.id])

    def query(self, message: OutgoingSms) -> Submitted | None:
        return Submitted(gateway_id=self.taken[message.id]) if message.id in self.taken else None


@pytest.fixture
def sms():
    return sms_enqueue(phone="13900000001", kind="service", text="【农合银行】您的工单000123已办结。")


@pytest.fixture(autouse=True)
def no_task(monkeypatch):
    """The tests drive delivery themselves (the eager task would send on commit)."""
    monkeypatch.setattr(delivery, "schedule", lambda ids: None)


def statuses(row: SmsOutbox) -> list[str]:
    return list(SmsEvent.objects.filter(message=row).values_list("status", flat=True))


def test_a_message_is_claimed_sent_and_delivered(sms):
    gateway = FakeGateway()
    [row] = delivery.claim(ids=[sms.pk])
    assert delivery.send_claimed(row, via=gateway) == "sent"
    sms.refresh_from_db()
    assert (sms.status, sms.gateway, sms.gateway_id, sms.attempts) == ("sent", "fake", f"g-{sms.pk}", 1)
    assert delivery.receipt_record(Receipt(f"g-{sms.pk}", "delivered", timezone.now()), gateway_name="fake")
    sms.refresh_from_db()
    assert sms.status == "delivered" and sms.delivered_at is not None
    assert statuses(sms) == ["sending", "sent", "delivered"]
    # A second report of the same delivery changes nothing.
    assert not delivery.receipt_record(Receipt(f"g-{sms.pk}", "delivered", timezone.now()), gateway_name="fake")


def test_the_task_run_twice_sends_once(sms, monkeypatch):
    gateway = FakeGateway()
    monkeypatch.setattr(delivery, "gateway", lambda: gateway)
    assert delivery.deliver(ids=[sms.pk]) == {"sent": 1}
    assert delivery.deliver(ids=[sms.pk]) == {}
    assert gateway.calls == [sms.pk]


def test_a_timeout_then_success_retries_with_backoff(sms, settings):
    settings.SMS_RETRY_BASE_S = 30
    gateway = FakeGateway("timeout", "ok")
    [row] = delivery.claim(ids=[sms.pk])
    assert delivery.send_claimed(row, via=gateway) == "pending"
    sms.refresh_from_db()
    assert sms.status == "pending" and sms.last_error == "timeout"
    assert timedelta(seconds=29) < sms.next_attempt_at - timezone.now() <= timedelta(seconds=30)
    assert delivery.claim(ids=[sms.pk]) == []  # not due yet
    [row] = delivery.claim(ids=[sms.pk], now=sms.next_attempt_at)
    assert delivery.send_claimed(row, via=gateway) == "sent"
    sms.refresh_from_db()
    assert (sms.status, sms.attempts, gateway.calls) == ("sent", 2, [sms.pk, sms.pk])


def test_attempts_exhausted_end_in_the_dead_letter_list(sms, settings):
    settings.SMS_MAX_ATTEMPTS = 2
    gateway = FakeGateway("timeout", "timeout")
    for _attempt in range(2):
        sms.refresh_from_db()
        [row] = delivery.claim(ids=[sms.pk], now=(sms.next_attempt_at or timezone.now()) + timedelta(seconds=1))
        delivery.send_claimed(row, via=gateway)
    sms.refresh_from_db()
    assert sms.status == "failed" and sms.attempts == 2


def test_a_refusal_fails_at_once(sms):
    [row] = delivery.claim(ids=[sms.pk])
    assert delivery.send_claimed(row, via=FakeGateway("reject")) == "failed"
    sms.refresh_from_db()
    assert sms.status == "failed" and sms.last_error.startswith("rejected")


def test_a_message_the_gateway_may_have_taken_is_reconciled_not_resent(sms, settings):
    settings.SMS_SENDING_STALE_S = 60
    gateway = FakeGateway("lost")
    [row] = delivery.claim(ids=[sms.pk])
    assert delivery.send_claimed(row, via=gateway) == "sending"
    assert delivery.claim(ids=[sms.pk]) == []  # still sending: nobody sends it again
    later = timezone.now() + timedelta(seconds=61)
    assert delivery.reconcile_stale(now=later, via=gateway)["sent"] == 1
    sms.refresh_from_db()
    assert (sms.status, sms.gateway_id) == ("sent", f"g-{sms.pk}")
    assert gateway.calls == [sms.pk]  # one submission, ever


def test_the_worker_killed_after_the_gateway_accepted_and_before_the_row_was_marked(sms, settings, monkeypatch):
    settings.SMS_SENDING_STALE_S = 60
    gateway = FakeGateway()

    def killed(*args, **kwargs):
        raise SystemExit("worker killed")  # after send() returned, before the row is marked

    [row] = delivery.claim(ids=[sms.pk])
    monkeypatch.setattr(delivery, "_record_sent", killed)
    with pytest.raises(SystemExit):
        delivery.send_claimed(row, via=gateway)
    monkeypatch.undo()
    monkeypatch.setattr(delivery, "schedule", lambda ids: None)
    sms.refresh_from_db()
    assert sms.status == "sending"
    # The broker redelivers the task (acks_late): the row is not pending, nothing is sent.
    assert delivery.claim(ids=[sms.pk]) == []
    # The sweep asks the gateway by the row's id: it has it, so the row is sent — not resent.
    assert delivery.reconcile_stale(now=timezone.now() + timedelta(seconds=61), via=gateway)["sent"] == 1
    sms.refresh_from_db()
    assert sms.status == "sent" and gateway.calls == [sms.pk]


def test_a_claimed_row_the_gateway_never_got_is_sent_again(sms, settings):
    settings.SMS_SENDING_STALE_S = 60
    gateway = FakeGateway()
    delivery.claim(ids=[sms.pk])  # the worker died before calling the gateway
    assert delivery.reconcile_stale(now=timezone.now() + timedelta(seconds=61), via=gateway)["requeued"] == 1
    [row] = delivery.claim(ids=[sms.pk])
    assert delivery.send_claimed(row, via=gateway) == "sent" and gateway.calls == [sms.pk]


def test_a_gateway_that_cannot_be_asked_leaves_the_decision_to_the_maintainer(sms, settings):
    settings.SMS_SENDING_STALE_S = 60
    gateway = FakeGateway("lost")
    gateway.can_query = False
    [row] = delivery.claim(ids=[sms.pk])
    delivery.send_claimed(row, via=gateway)
    assert delivery.reconcile_stale(now=timezone.now() + timedelta(seconds=61), via=gateway)["unknown"] == 1
    sms.refresh_from_db()
    assert (sms.status, sms.last_error) == ("failed", "unknown_outcome")
    assert gateway.calls == [sms.pk]


def test_the_maintainer_requeues_or_cancels_a_dead_letter_audited(sms):
    maintainer = make_staff(Role.MAINTAINER, username="mt")
    [row] = delivery.claim(ids=[sms.pk])
    delivery.send_claimed(row, via=FakeGateway("reject"))
    sms.refresh_from_db()
    delivery.requeue(message=sms, actor=maintainer)
    sms.refresh_from_db()
    assert (sms.status, sms.attempts) == ("pending", 0)
    with pytest.raises(NotDeadLetter):
        delivery.cancel(message=sms, actor=maintainer)
    [row] = delivery.claim(ids=[sms.pk])
    delivery.send_claimed(row, via=FakeGateway("reject"))
    sms.refresh_from_db()
    delivery.cancel(message=sms, actor=maintainer)
    sms.refresh_from_db()
    assert sms.status == "cancelled"
    assert list(AuditEvent.objects.filter(object_id=str(sms.pk)).values_list("action", flat=True).order_by("pk")) == [
        "sms.requeue",
        "sms.cancel",
    ]
    assert SmsEvent.objects.filter(message=sms, actor=maintainer).count() == 2


def test_the_sweep_hands_due_rows_to_the_task(sms, monkeypatch):
    handed: list[list[int]] = []
    monkeypatch.setattr(delivery, "schedule", handed.append)
    later = sms_enqueue(phone="13900000002", kind="service", text="b")
    SmsOutbox.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    assert delivery.sweep()["scheduled"] == 1
    assert handed == [[sms.pk]]


def test_the_file_gateway_writes_each_message_once(tmp_path):
    gateway = FileGateway(tmp_path)
    message = OutgoingSms(id=41, phone="13900000001", text="【农合银行】测试")
    assert gateway.query(message) is None
    assert gateway.send(message) == gateway.send(message) == gateway.query(message)
    [written] = list(tmp_path.iterdir())
    assert json.loads(written.read_text(encoding="utf-8"))["text"] == "【农合银行】测试"


def test_a_committed_notice_is_sent_by_the_task_on_commit(
    settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    """The embedded default: the task runs in-process after the commit and the file gateway writes."""
    monkeypatch.undo()  # the real schedule(): the eager Celery task
    settings.SMS_FILE_DIR = str(tmp_path)
    delivery.gateway.cache_clear()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            row = sms_enqueue(phone="13900000003", kind="service", text="【农合银行】您好")
        row.refresh_from_db()
        if settings.CELERY_TASK_ALWAYS_EAGER:
            assert row.status == "sent" and (tmp_path / f"{row.pk}.json").exists()
        else:  # full mode: the task went to the broker; a worker test covers the rest
            assert row.status == "pending"
    finally:
        delivery.gateway.cache_clear()


def test_the_embedded_default_sweeps_rows_no_task_got(settings, monkeypatch):
    """No beat runs in the embedded default: the websocket ticker's periodic hook runs the sweep."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.skip("full mode: beat runs notifications.sweep")
    from calls import dispatch

    monkeypatch.undo()  # the real schedule(): the eager task
    row = sms_enqueue(phone="13900000009", kind="service", text="【农合银行】您好")  # its on-commit task never ran
    dispatch._embedded_periodic()
    row.refresh_from_db()
    assert row.status == "sent"


def test_a_batch_is_claimed_and_recorded_in_a_fixed_number_of_statements(django_assert_max_num_queries, monkeypatch):
    gateway = FakeGateway(*(["ok"] * 30))
    monkeypatch.setattr(delivery, "gateway", lambda: gateway)
    rows = [sms_enqueue(phone=f"1390000{n:04d}", kind="service", text=f"{n}").pk for n in range(30)]
    # claim: savepoint, lock, update, events; record: savepoint, lock, update, events
    with django_assert_max_num_queries(12):
        assert delivery.deliver(ids=rows[:5], limit=30, fill=True) == {"sent": 30}
    assert sorted(gateway.calls) == sorted(rows)
    assert set(SmsOutbox.objects.filter(pk__in=rows).values_list("status", flat=True)) == {"sent"}
    assert SmsEvent.objects.filter(message_id__in=rows, status="sent").count() == 30


def test_a_task_takes_its_own_rows_first_then_fills_its_batch(monkeypatch, settings):
    settings.SMS_BATCH = 3
    gateway = FakeGateway()
    monkeypatch.setattr(delivery, "gateway", lambda: gateway)
    rows = [sms_enqueue(phone="13900000001", kind="service", text=f"{n}").pk for n in range(5)]
    from notifications import tasks

    assert tasks.deliver(ids=[rows[4]]) == {"sent": 3}
    assert gateway.calls[0] == rows[4] and sorted(gateway.calls[1:]) == rows[:2]  # then the oldest
    assert tasks.deliver(ids=[rows[0]]) == {"sent": 2}  # its own was sent: it takes the others


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_transfer_functions_notice_goes_to_delivery_after_the_commit(monkeypatch):
    """The notice the PL/pgSQL transfer function queues is handed to delivery once the transfer
    commits (its row carries the outbox ids), as the Python path's are — not left to the sweep."""
    from django.db import transaction

    from banking.services.transfers import transfer_execute
    from tests.factories_banking import phone_banking

    pb = phone_banking(card_fen=5_000_000, sms_notice=True)
    SmsOutbox.objects.all().delete()
    scheduled: list[list[int]] = []
    monkeypatch.setattr(delivery, "schedule", lambda ids: scheduled.append(list(ids)))

    def transfer(key: str):
        return transfer_execute(
            registration=pb.registration,
            from_account=pb.card,
            to_account=pb.linked[0],
            amount="100.00",
            idempotency_key=key,
            channel="ivr",
        )

    with transaction.atomic():
        transfer("after-commit-1")
        assert scheduled == []  # not before the commit
    notice = SmsOutbox.objects.get()
    assert notice.kind == SmsOutbox.Kind.TRANSACTION_NOTICE
    assert scheduled == [[notice.pk]]
    transfer("after-commit-1")  # a replay queues and schedules nothing
    assert scheduled == [[notice.pk]] and SmsOutbox.objects.count() == 1
    with transaction.atomic():  # rolled back: nothing queued, nothing scheduled
        transfer("after-commit-2")
        transaction.set_rollback(True)
    assert scheduled == [[notice.pk]] and SmsOutbox.objects.count() == 1
    transfer("after-commit-3")  # no transaction of the caller's: scheduled when the statement commits
    assert len(scheduled) == 2 and SmsOutbox.objects.count() == 2
