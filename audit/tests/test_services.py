"""``audit_record``, the one way to write the audit log: who (a user, an anonymous caller or the
system), what, on which object, from where; secrets never stored, at any depth."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from audit.models import AuditEvent
from audit.selectors import audit_event_list
from audit.services import REDACTED, audit_record
from org.roles import Role

pytestmark = pytest.mark.django_db


def test_the_system_and_anonymous_callers_are_recorded_without_a_user():
    for actor in (None, AnonymousUser()):
        event = audit_record(actor=actor, action="auth.login_failed", details={"username": "nobody"})
        stored = AuditEvent.objects.get(pk=event.pk)
        assert (stored.actor, stored.actor_username, stored.actor_role) == (None, "", "")
        assert stored.details == {"username": "nobody"}


def test_the_object_names_itself_unless_the_caller_names_it(staff):
    lead = staff[Role.TEAM_LEAD]
    named_by_object = audit_record(actor=lead, action="x", obj=staff[Role.AGENT])
    assert (named_by_object.object_type, named_by_object.object_id) == ("user", str(staff[Role.AGENT].pk))
    named_by_caller = audit_record(actor=lead, action="x", obj=staff[Role.AGENT], object_type="agent", object_id="a01")
    assert (named_by_caller.object_type, named_by_caller.object_id) == ("agent", "a01")
    long_id = audit_record(actor=lead, action="x", object_type="call", object_id="c" * 300)
    assert AuditEvent.objects.get(pk=long_id.pk).object_id == "c" * 200


def test_secrets_are_redacted_in_lists_and_whatever_the_case_of_the_key(staff):
    event = audit_record(
        actor=staff[Role.MAINTAINER],
        action="x",
        details={
            "changes": [{"New_Password": "abc12345", "field": "pin"}, {"API_TOKEN": "t0k3n"}],
            "Withdrawal_PIN": "123456",
            "amount_fen": 100,
        },
    )
    assert AuditEvent.objects.get(pk=event.pk).details == {
        "changes": [{"New_Password": REDACTED, "field": "pin"}, {"API_TOKEN": REDACTED}],
        "Withdrawal_PIN": REDACTED,
        "amount_fen": 100,
    }


def test_the_clients_address_is_recorded_from_the_request(staff):
    request = RequestFactory().get("/", REMOTE_ADDR="10.1.2.3")
    event = audit_record(actor=staff[Role.DIRECTOR], action="x", request=request)
    assert AuditEvent.objects.get(pk=event.pk).ip_address == "10.1.2.3"
    assert audit_record(actor=staff[Role.DIRECTOR], action="x").ip_address is None


def test_the_selector_filters_and_brings_the_actor_along(staff, django_assert_num_queries):
    audit_record(actor=staff[Role.AGENT], action="recording.play", object_type="recording", object_id="7")
    audit_record(actor=staff[Role.DIRECTOR], action="report.export")
    with django_assert_num_queries(1):
        events = list(audit_event_list(filters={"action": "recording.play"}))
        assert [(event.actor.username, event.object_id) for event in events] == [("agent", "7")]
