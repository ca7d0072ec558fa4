"""Agent-facing banking API (DESIGN.md §6 Banking): masking, scoping, audit, loss report, unlock."""

import pytest

from audit.models import AuditEvent
from banking.models import Account, AccountEvent
from org.roles import Role
from tests.factories import UnitFactory, make_staff
from tests.factories_banking import phone_banking

pytestmark = pytest.mark.django_db


@pytest.fixture
def pb(db):
    return phone_banking(card_fen=5_000_000, linked_fen=(100_000, 0), sms_notice=True)


@pytest.fixture
def agent(db):
    return make_staff(Role.AGENT, username="agent-api")


@pytest.fixture
def lead(db):
    return make_staff(Role.TEAM_LEAD, username="lead-api")


def test_search_by_card_number_returns_masked_numbers_only(api_for, agent, pb):
    response = api_for(agent).get(f"/api/banking/customers/?q={pb.card.number}&call_id=C-1")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["id"] == pb.customer.pk
    card = next(a for a in row["accounts"] if a["id"] == pb.card.pk)
    assert card["number_masked"] == f"{pb.card.number[:6]}******{pb.card.number[-4:]}"
    assert pb.card.number not in response.content.decode()
    for linked in pb.linked:
        assert linked.number not in response.content.decode()


@pytest.mark.parametrize("field", ["mobile", "id_last6"])
def test_search_by_mobile_or_id_last6(api_for, agent, pb, field):
    q = getattr(pb.customer, field)
    assert api_for(agent).get(f"/api/banking/customers/?q={q}").json()["count"] == 1


def test_search_is_audited_with_the_call_and_without_the_full_number(api_for, agent, pb):
    api_for(agent).get(f"/api/banking/customers/?q={pb.card.number}&call_id=C-42")
    event = AuditEvent.objects.get(action="banking.customer_search")
    assert event.actor == agent and event.details["call_id"] == "C-42"
    assert pb.card.number not in str(event.details)
    assert event.details["results"] == [pb.customer.pk]


def test_search_needs_a_query(api_for, agent):
    response = api_for(agent).get("/api/banking/customers/")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_input"


def test_search_refuses_unknown_parameters(api_for, agent):
    response = api_for(agent).get("/api/banking/customers/?q=13800000001&qq=1")
    assert response.json()["error"]["code"] == "unknown_field"


def test_customer_detail_has_accounts_balances_registration_and_sms_notice(api_for, agent, pb):
    body = api_for(agent).get(f"/api/banking/customers/{pb.customer.pk}/?call_id=C-7").json()
    accounts = {a["id"]: a for a in body["accounts"]}
    assert accounts[pb.card.pk] == {
        "id": pb.card.pk,
        "number_masked": f"{pb.card.number[:6]}******{pb.card.number[-4:]}",
        "kind": "debit_card",
        "status": "active",
        "balance": "50000.00",
    }
    assert accounts[pb.linked[0].pk]["balance"] == "1000.00"
    assert accounts[pb.linked[0].pk]["number_masked"] == f"****{pb.linked[0].number[-4:]}"
    registration = body["registration"]
    assert registration["registered"] is True and registration["locked"] is False
    assert [link["code"] for link in registration["linked"]] == ["01", "02"]
    assert body["sms_notice"] == [{"account_id": pb.card.pk, "active": True}]
    assert AuditEvent.objects.filter(action="banking.customer_view", object_id=str(pb.customer.pk)).exists()


def test_unregistered_customer_detail_says_so(api_for, agent):
    from tests.factories_banking import AccountFactory

    card = AccountFactory(opening_fen=200_000)
    body = api_for(agent).get(f"/api/banking/customers/{card.customer.pk}/").json()
    assert body["registration"] == {"registered": False, "locked": False, "linked": []}


def test_transactions_by_local_date_range(api_for, agent, pb):
    from banking import services

    services.transfer_execute(
        registration=pb.registration,
        from_account=pb.card,
        to_account=pb.linked[0],
        amount="100.50",
        idempotency_key="t-1",
        channel="agent",
    )
    body = api_for(agent).get(f"/api/banking/accounts/{pb.card.pk}/transactions/").json()
    assert body["results"][0]["amount"] == "-100.50"
    assert body["results"][0]["balance"] == "49899.50"
    assert body["results"][0]["kind"] == "transfer"


def test_transactions_refuse_a_reversed_date_range(api_for, agent, pb):
    response = api_for(agent).get(
        f"/api/banking/accounts/{pb.card.pk}/transactions/?date_from=2026-11-02&date_to=2026-11-01"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_date_range"


def test_transactions_refuse_a_malformed_date(api_for, agent, pb):
    response = api_for(agent).get(f"/api/banking/accounts/{pb.card.pk}/transactions/?date_from=yesterday")
    assert response.status_code == 400 and "date_from" in response.json()["error"]["fields"]


def test_internal_ledger_accounts_are_not_visible_to_agents(api_for, agent, pb):
    from banking.services import internal_account

    suspense = internal_account("SUSPENSE")
    response = api_for(agent).get(f"/api/banking/accounts/{suspense.pk}/transactions/")
    assert response.status_code == 404


def test_agent_registers_a_verbal_loss_on_the_callers_behalf(api_for, agent, pb):
    response = api_for(agent).post(
        "/api/banking/loss-reports/",
        {"account": pb.card.pk, "verification": "id_document", "call_id": "C-9"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "verbally_lost" and body["valid_until"]
    pb.card.refresh_from_db()
    assert pb.card.status == Account.Status.VERBALLY_LOST


def test_loss_report_with_password_verification_needs_the_password(api_for, agent, pb):
    response = api_for(agent).post(
        "/api/banking/loss-reports/", {"account": pb.card.pk, "verification": "password"}, format="json"
    )
    assert response.status_code == 400 and "password" in response.json()["error"]["fields"]


def test_loss_report_twice_is_refused_with_a_code(api_for, agent, pb):
    client = api_for(agent)
    payload = {"account": pb.card.pk, "verification": "id_document", "call_id": "C-9"}
    assert client.post("/api/banking/loss-reports/", payload, format="json").status_code == 201
    again = client.post("/api/banking/loss-reports/", payload, format="json")
    assert again.status_code == 422 and again.json()["error"]["code"] == "account_lost"


def test_loss_report_unknown_account_is_404(api_for, agent):
    response = api_for(agent).post(
        "/api/banking/loss-reports/", {"account": 999999, "verification": "id_document"}, format="json"
    )
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_loss_report_bad_verification_is_400(api_for, agent, pb):
    response = api_for(agent).post(
        "/api/banking/loss-reports/", {"account": pb.card.pk, "verification": "trust_me"}, format="json"
    )
    assert response.status_code == 400


def test_only_team_leads_unlock_registrations_and_it_is_audited(api_for, agent, lead, pb):
    from banking import services
    from banking.errors import RegistrationLocked

    for attempt in range(3):
        try:
            services.password_verify(registration=pb.registration, password="000000", channel="ivr")
        except RegistrationLocked:
            assert attempt == 2
    url = f"/api/banking/registrations/{pb.registration.pk}/unlock/"
    assert api_for(agent).post(url, {}, format="json").status_code == 403
    response = api_for(lead).post(url, {"call_id": "C-5", "reason": "ID checked"}, format="json")
    assert response.status_code == 200
    assert response.json()["locked"] is False
    assert AuditEvent.objects.filter(action="banking.registration_unlock", actor=lead).exists()
    assert AccountEvent.objects.filter(kind="registration_unlocked").exists()
    assert services.password_verify(registration=pb.registration, password="123456", channel="ivr") is True


def test_switch_and_unit_staff_cannot_read_customers(api_for, pb):
    switch = make_staff(Role.SWITCH, username="switch-api")
    branch = make_staff(Role.UNIT_STAFF, unit=UnitFactory(code="B02"), username="branch-api")
    for user in (switch, branch):
        assert api_for(user).get(f"/api/banking/customers/{pb.customer.pk}/").status_code == 403
