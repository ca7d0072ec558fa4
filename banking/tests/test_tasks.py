from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from banking import services, tasks
from banking.models import LossReport

pytestmark = pytest.mark.django_db


def test_expiry_task_expires_reports_past_validity_and_keeps_the_account_blocked(pb):
    report = services.loss_report_register(account=pb.card, verification="id_document", channel="agent")
    LossReport.objects.filter(pk=report.pk).update(valid_until=timezone.now() - timedelta(minutes=1))
    assert tasks.loss_reports_expire() == 1
    report.refresh_from_db()
    pb.card.refresh_from_db()
    assert report.status == LossReport.Status.EXPIRED and pb.card.status == "verbally_lost"
    assert tasks.loss_reports_expire() == 0


def test_beat_schedules_the_banking_tasks():
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"banking.loss_reports_expire", "banking.loss_report_reminders_send"} <= tasks_scheduled
