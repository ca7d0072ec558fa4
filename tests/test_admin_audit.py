"""Edits made in the admin to business data (units, outlets, staff and their roles, queues)
leave audit events naming who changed which row and which fields."""

import pytest

from audit.models import AuditEvent
from calls.models import Queue
from org.models import StaffProfile, Unit
from org.roles import Role
from tests.factories import make_staff

pytestmark = pytest.mark.django_db


def _form(client, url: str) -> dict:
    """The change form's current values, as the browser would post them back."""
    response = client.get(url)
    assert response.status_code == 200
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if value is None:
            continue
        if hasattr(field.widget, "widgets"):  # a split date and time: posted as name_0, name_1
            for index, part in enumerate(field.widget.decompress(value)):
                data[f"{name}_{index}"] = str(part)
            continue
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        data[name] = [str(v) for v in value] if isinstance(value, list | tuple) else str(value)
    for formset in response.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = str(management[name].value())
        for form in formset.formset.forms:
            for name in form.fields:
                value = form[name].value()
                if value is not None and not isinstance(value, bool):
                    data[f"{form.prefix}-{name}"] = str(value)
                elif value is True:
                    data[f"{form.prefix}-{name}"] = "on"
    return data


def test_a_units_rename_in_the_admin_is_audited_with_the_field(client_for, branches):
    maintainer = make_staff(Role.MAINTAINER)
    client = client_for(maintainer)
    unit = branches[0]
    url = f"/admin/org/unit/{unit.pk}/change/"
    data = _form(client, url)
    data["name"] = "东丽区行社（新址）"
    response = client.post(url, data)
    assert response.status_code == 302, response.content[:2000]
    assert Unit.objects.get(pk=unit.pk).name == "东丽区行社（新址）"
    event = AuditEvent.objects.get(action="admin.change", object_type="org.unit", object_id=str(unit.pk))
    assert event.actor_id == maintainer.pk and event.actor_role == Role.MAINTAINER
    assert event.details["changes"] == [{"changed": {"fields": ["Name"]}}]  # Django's message, untranslated
    assert event.details["object"] == str(Unit.objects.get(pk=unit.pk))


def test_a_staff_members_role_change_in_the_admin_is_audited(client_for, branches):
    client = client_for(make_staff(Role.MAINTAINER))
    agent = make_staff(Role.AGENT)
    url = f"/admin/auth/user/{agent.pk}/change/"
    data = _form(client, url)
    data["profile-0-role"] = Role.TEAM_LEAD
    response = client.post(url, data)
    assert response.status_code == 302, response.content[:2000]
    assert StaffProfile.objects.get(user=agent).role == Role.TEAM_LEAD
    event = AuditEvent.objects.get(action="admin.change", object_type="auth.user", object_id=str(agent.pk))
    changed = [change["changed"] for change in event.details["changes"] if "changed" in change]
    assert any(change.get("object") and change.get("fields") for change in changed), event.details


def test_adding_and_deleting_a_queue_in_the_admin_are_audited(client_for):
    client = client_for(make_staff(Role.MAINTAINER))
    data = _form(client, "/admin/calls/queue/add/")
    data.update({"code": "wealth", "name": "理财业务", "name_en": "Wealth", "position": "50", "min_skill_level": "1"})
    response = client.post("/admin/calls/queue/add/", data)
    assert response.status_code == 302, response.content[:3000]
    queue = Queue.objects.get(code="wealth")
    assert AuditEvent.objects.filter(action="admin.add", object_type="calls.queue", object_id=str(queue.pk)).exists()
    response = client.post(f"/admin/calls/queue/{queue.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Queue.objects.filter(pk=queue.pk).exists()
    deleted = AuditEvent.objects.get(action="admin.delete", object_type="calls.queue", object_id=str(queue.pk))
    assert "wealth" in deleted.details["object"] or "理财" in deleted.details["object"]
