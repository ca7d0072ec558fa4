import pytest
from django.db import IntegrityError, InternalError, connection, transaction

from audit.models import AppendOnlyError, AuditEvent
from audit.services import audit_record
from org.roles import Role

pytestmark = pytest.mark.django_db


def test_audit_record_keeps_who_what_and_role(staff):
    user = staff[Role.DIRECTOR]
    event = audit_record(actor=user, action="report.export", obj=user, details={"format": "xlsx"})
    assert (event.actor_username, event.actor_role, event.object_type) == ("director", "director", "user")
    assert event.object_id == str(user.pk) and event.details == {"format": "xlsx"}


def test_audit_details_are_scrubbed_of_secrets(staff):
    event = audit_record(
        actor=staff[Role.AGENT],
        action="x",
        details={"password": "123456", "nested": {"card_number": "6228480100000001", "ok": 1}},
    )
    assert event.details == {"password": "[redacted]", "nested": {"card_number": "[redacted]", "ok": 1}}


def test_audit_events_cannot_be_changed_or_deleted_from_python(staff):
    event = audit_record(actor=staff[Role.AGENT], action="x")
    event.action = "y"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="y")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


@pytest.mark.postgres
@pytest.mark.parametrize("statement", ["UPDATE audit_auditevent SET action = 'y'", "DELETE FROM audit_auditevent"])
def test_database_refuses_changes_to_audit_rows(staff, statement):
    audit_record(actor=staff[Role.AGENT], action="x")
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditEvent.objects.filter(action="x").count() == 1


def test_audit_api_filters_by_object(api_for, staff):
    audit_record(actor=staff[Role.AGENT], action="recording.play", object_type="recording", object_id="7")
    audit_record(actor=staff[Role.AGENT], action="recording.play", object_type="recording", object_id="8")
    body = api_for(staff[Role.DIRECTOR]).get("/api/audit/?object_type=recording&object_id=7").json()
    assert body["count"] == 1
    assert body["results"][0]["actor"] == "agent" and body["results"][0]["action"] == "recording.play"
