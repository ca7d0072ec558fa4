"""The risk officer's pages: alerts with their evidence, the workflow forms, and the queried-account
statistics (audit trail and IVR balance queries) with their XLSX export."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from audit.models import AuditEvent
from banking.risk.models import Alert, AlertLog
from banking.risk.views import CHANNEL_LABELS
from org.roles import Role
from tests.factories import make_staff

from .conftest import transfer
from .test_rules import ivr_call, ivr_digits

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert(monitor, pb):
    transfer(pb, "30000.00", call_id="call-page")
    monitor()
    return Alert.objects.get()


def test_the_alerts_page_replaces_the_placeholder_and_lists_open_alerts(client_for, risk_officer, alert):
    page = client_for(risk_officer).get(reverse("risk:alerts"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Not yet available" not in html and "尚未" not in html
    assert reverse("risk:alert", args=[alert.pk]) in html
    assert str(alert.customer) in html


@pytest.mark.parametrize("role", [Role.AGENT, Role.TEAM_LEAD, Role.ANALYST])
def test_other_roles_get_403_on_the_pages(client_for, role, alert):
    client = client_for(make_staff(role))
    assert client.get(reverse("risk:alerts")).status_code == 403
    assert client.get(reverse("risk:alert", args=[alert.pk])).status_code == 403
    assert client.get(reverse("risk:queried-accounts")).status_code == 403
    action = reverse("risk:alert-action", args=[alert.pk, "close"])
    assert client.post(action, {"outcome": "false_positive"}).status_code == 403
    assert Alert.objects.get().status == Alert.Status.OPEN


def test_the_alert_page_shows_the_evidence_and_the_forms_work(client_for, risk_officer, alert):
    client = client_for(risk_officer)
    url = reverse("risk:alert", args=[alert.pk])
    html = client.get(url).content.decode()
    assert "call-page" in html and "30000.00" in html
    action = lambda name: reverse("risk:alert-action", args=[alert.pk, name])  # noqa: E731
    assert client.post(action("assign"), {"assignee": risk_officer.pk}).status_code == 302
    assert client.post(action("comment"), {"note": "checking with the branch"}).status_code == 302
    assert client.post(action("close"), {"outcome": "false_positive", "note": "salary day"}).status_code == 302
    alert.refresh_from_db()
    assert (alert.status, alert.outcome, alert.assignee) == ("closed", "false_positive", risk_officer)
    notes = list(AlertLog.objects.filter(alert=alert).values_list("action", "note"))
    assert notes == [
        ("raised", ""),
        ("assigned", ""),
        ("commented", "checking with the branch"),
        ("closed", "salary day"),
    ]
    page = client.get(url).content.decode()
    assert "checking with the branch" in page
    assert "→ 已分派" in page and "→ assigned" not in page  # statuses and outcomes by their names
    assert "（误报）" in page and "false_positive" not in page


def test_a_refused_action_says_why_and_changes_nothing(client_for, risk_officer, alert):
    client = client_for(risk_officer)
    response = client.post(reverse("risk:alert-action", args=[alert.pk, "close"]), {"outcome": ""}, follow=True)
    assert response.status_code == 200
    assert Alert.objects.get().status == Alert.Status.OPEN
    assert AlertLog.objects.filter(alert=alert).count() == 1


# --- queried accounts ---------------------------------------------------------------------------


def test_lookups_are_counted_per_account_channel_and_person_and_exported(
    api_for, client_for, monitor, pb, risk_officer
):
    agent = make_staff(Role.AGENT, username="lookup-agent")
    analyst = make_staff(Role.ANALYST, username="lookup-analyst")
    for _n in range(2):
        api_for(agent).get(f"/api/banking/customers/{pb.customer.pk}/", {"call_id": "c-9"})
    api_for(analyst).get(f"/api/banking/accounts/{pb.card.pk}/transactions/")
    api_for(agent).post("/api/banking/customers/search/", {"q": pb.customer.mobile}, format="json")
    for _n in range(3):
        ivr_digits(ivr_call("13800000001", account=pb.card), prompt="balance")
    monitor()

    client = client_for(risk_officer)
    html = client.get(reverse("risk:queried-accounts")).content.decode()
    assert "lookup-agent" in html and "lookup-analyst" in html and "138****0001" in html
    assert pb.card.number not in html

    export = client.get(reverse("risk:queried-accounts"), {"format": "xlsx"})
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(export.content)).active
    table = list(sheet.iter_rows(min_row=3, values_only=True))
    by_key = {(row[0], row[3], row[2]): row[4] for row in table}
    card = str(pb.card)
    with translation.override(settings.LANGUAGE_CODE):  # the export's language: the default
        desktop, back_office, ivr = (str(CHANNEL_LABELS[c]) for c in ("desktop", "back_office", "ivr"))
        whole = translation.gettext("(customer)")
    assert by_key[(desktop, "lookup-agent", whole)] == 3  # two views and one search
    assert by_key[(back_office, "lookup-analyst", card)] == 1
    assert by_key[(ivr, "138****0001", card)] == 3
    assert len(table) == 3
    assert all(pb.card.number not in " ".join(str(v) for v in row) for row in table)
    assert AuditEvent.objects.filter(action="risk.queried_accounts_export", actor=risk_officer).count() == 1


def test_the_agent_desktop_has_the_report_form(client_for, agent):
    html = client_for(agent).get("/agent/desktop/").content.decode()
    assert 'id="risk-report-form"' in html


def test_an_alerts_details_and_evidence_read_as_words_not_keys(client_for, risk_officer):
    """The page names the rule's figures and the events behind it (no raw keys, no dicts)."""
    from django.utils import translation

    from banking.models import AccountEvent
    from banking.risk import presentation

    with translation.override("en"):
        labels = dict(presentation.rows({"count": 5, "window_minutes": 60, "calls": ["c-1", "c-2"], "demo": True}))
        assert labels == {"How many": "5", "Within (minutes)": "60", "Calls": "c-1、c-2"}
        nested = presentation.rows({"channel": "ivr", "after": {"failed_attempts": 2, "locked": True}})
        assert nested == [("Channel", "ivr"), ("After the change", "Wrong passwords in a row：2；Locked：yes")]
        evidence = presentation.AlertEvidence(kind=AccountEvent.Kind.PASSWORD_FAILED)
        assert presentation.kind_label(evidence) == str(AccountEvent.Kind.PASSWORD_FAILED.label)


def test_the_export_holds_a_customer_name_with_a_control_character(api_for, client_for, monitor, pb, risk_officer):
    # Customer records migrated from the core system can carry control characters; openpyxl
    # refuses such a cell and the export was a 500.
    pb.customer.name = "王\x0b五"
    pb.customer.save(update_fields=["name"])
    api_for(make_staff(Role.AGENT, username="lookup-agent2")).get(f"/api/banking/customers/{pb.customer.pk}/")
    monitor()
    export = client_for(risk_officer).get(reverse("risk:queried-accounts"), {"format": "xlsx"})
    assert export.status_code == 200
    rows = list(load_workbook(io.BytesIO(export.content)).active.iter_rows(min_row=3, values_only=True))
    assert [row[1] for row in rows] == [f"王五 ({pb.customer.id_last6[-4:]})"]
