from datetime import timedelta

import pytest
from django.utils import timezone

from banking import tasks
from banking.models import LossReport
from banking.services.loss_reports import loss_report_register
from notifications.models import SmsOutbox

pytestmark = pytest.mark.django_db


def test_expiry_task_expires_reports_past_validity_and_keeps_the_account_blocked(pb):
    report = loss_report_register(account=pb.card, verification="id_document", channel="agent")
    LossReport.objects.filter(pk=report.pk).update(valid_until=timezone.now() - timedelta(minutes=1))
    assert tasks.loss_reports_expire() == 1
    report.refresh_from_db()
    pb.card.refresh_from_db()
    assert report.status == LossReport.Status.EXPIRED and pb.card.status == "verbally_lost"
    assert tasks.loss_reports_expire() == 0


def test_reminder_task_texts_the_customer_once_before_the_report_expires(pb):
    report = loss_report_register(account=pb.card, verification="id_document", channel="agent")
    LossReport.objects.filter(pk=report.pk).update(valid_until=timezone.now() + timedelta(hours=2))
    assert tasks.loss_report_reminders_send.apply().get() == 1
    report.refresh_from_db()
    assert report.reminded_at is not None
    reminder = SmsOutbox.objects.filter(text__contains="将于").get()
    assert reminder.phone == pb.customer.mobile and pb.card.number not in reminder.text
    assert tasks.loss_report_reminders_send.apply().get() == 0
    assert SmsOutbox.objects.filter(text__contains="将于").count() == 1


def test_beat_schedules_each_banking_task_once_with_its_interval():
    from tests.beat import periodic_tasks_at_beat_start

    at_start = periodic_tasks_at_beat_start()
    intervals = {
        task.task: task.interval.schedule.run_every
        for task in at_start
        if task.task.startswith("banking.") and task.enabled
    }
    scheduled = [task.task for task in at_start]
    assert intervals["banking.loss_reports_expire"] == timedelta(minutes=5)
    assert intervals["banking.loss_report_reminders_send"] == timedelta(minutes=15)
    assert scheduled.count("banking.loss_reports_expire") == scheduled.count("banking.loss_report_reminders_send") == 1
