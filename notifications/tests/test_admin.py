"""The SMS outbox is read-only in the admin: a queued message's text, status and attempts change
only through the notifications services."""

import pytest

from notifications.models import SmsOutbox
from notifications.services import sms_enqueue
from org.roles import Role
from tests.factories import make_staff

pytestmark = pytest.mark.django_db


def test_the_maintainer_sees_an_sms_but_cannot_change_or_delete_it(client_for):
    client = client_for(make_staff(Role.MAINTAINER, username="maint-sms"))
    sms = sms_enqueue(phone="13800000000", kind=SmsOutbox.Kind.SERVICE, text="您的来电已受理。")
    assert client.get("/admin/notifications/smsoutbox/").status_code == 200
    page = client.get(f"/admin/notifications/smsoutbox/{sms.pk}/change/")
    assert page.status_code == 200 and "您的来电已受理。" in page.content.decode()
    client.post(f"/admin/notifications/smsoutbox/{sms.pk}/change/", {"status": "sent", "attempts": 2})
    assert client.post(f"/admin/notifications/smsoutbox/{sms.pk}/delete/", {"post": "yes"}).status_code == 403
    stored = SmsOutbox.objects.get(pk=sms.pk)
    assert (stored.status, stored.attempts, stored.sent_at) == (SmsOutbox.Status.PENDING, 0, None)


def test_the_maintainer_requeues_a_dead_letter_from_the_admin_audited(client_for):
    from audit.models import AuditEvent

    maintainer = make_staff(Role.MAINTAINER, username="maint-dead")
    client = client_for(maintainer)
    dead = sms_enqueue(phone="13800000001", kind=SmsOutbox.Kind.SERVICE, text="您好。")
    alive = sms_enqueue(phone="13800000002", kind=SmsOutbox.Kind.SERVICE, text="您好。")
    SmsOutbox.objects.filter(pk=dead.pk).update(status=SmsOutbox.Status.FAILED, last_error="rejected")
    response = client.post(
        "/admin/notifications/smsoutbox/",
        {"action": "requeue", "_selected_action": [dead.pk, alive.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert SmsOutbox.objects.get(pk=dead.pk).status == SmsOutbox.Status.PENDING
    assert SmsOutbox.objects.get(pk=alive.pk).status == SmsOutbox.Status.PENDING  # untouched: not a dead letter
    assert AuditEvent.objects.filter(action="sms.requeue", object_id=str(dead.pk), actor=maintainer).count() == 1
    assert not AuditEvent.objects.filter(action="sms.requeue", object_id=str(alive.pk)).exists()
