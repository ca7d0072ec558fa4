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


SEARCH = "/api/banking/customers/search/"


def test_search_by_card_number_returns_masked_numbers_only(api_for, agent, pb):
    response = api_for(agent).post(SEARCH, {"q": pb.card.number, "call_id": "C-1"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1 and body["previous"] is None and len(body["results"]) == 1
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
    assert api_for(agent).post(SEARCH, {"q": q}, format="json").json()["count"] == 1


def test_search_by_linked_account_number(api_for, agent, pb):
    body = api_for(agent).post(SEARCH, {"q": pb.linked[0].number}, format="json").json()
    assert [row["id"] for row in body["results"]] == [pb.customer.pk]


def test_search_is_audited_with_the_call_and_without_the_full_number(api_for, agent, pb):
    api_for(agent).post(SEARCH, {"q": pb.card.number, "call_id": "C-42"}, format="json")
    event = AuditEvent.objects.get(action="banking.customer_search")
    assert event.actor == agent and event.details["call_id"] == "C-42"
    assert pb.card.number not in str(event.details)
    assert event.details["query"] == f"{pb.card.number[:6]}******{pb.card.number[-4:]}"
    assert event.details["results"] == [pb.customer.pk]


def test_search_needs_a_query(api_for, agent):
    response = api_for(agent).post(SEARCH, {}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_input"


def test_search_refuses_unknown_fields(api_for, agent):
    response = api_for(agent).post(SEARCH, {"q": "13800000001", "qq": 1}, format="json")
    assert response.json()["error"]["code"] == "unknown_field"


def test_search_is_paginated_like_every_list(api_for, agent, pb):
    from tests.factories_banking import AccountFactory

    for _ in range(3):
        AccountFactory(customer__mobile="13900000009")
    response = api_for(agent).post(f"{SEARCH}?page_size=2", {"q": "13900000009"}, format="json")
    body = response.json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]


def test_search_is_not_for_every_role(api_for, pb):
    for role in (Role.UNIT_STAFF, Role.MAINTAINER):
        user = make_staff(role, username=f"search-{role}", unit=UnitFactory() if role == Role.UNIT_STAFF else None)
        assert api_for(user).post(SEARCH, {"q": pb.customer.mobile}, format="json").status_code == 403


@pytest.mark.parametrize(
    "query",
    [
        "q=6228480100000001",  # the old GET search by card number
        "q=01010000000001",  # an account number
        "q=6228%204801%200000%200001",  # a card typed in groups
        "q=6228-4801-0000-0001",
        "6228480100000001=1",  # as a parameter name
        "q=%EF%BC%96%EF%BC%92%EF%BC%92%EF%BC%98480100000001",  # full-width digits
    ],
)
def test_a_full_number_in_a_query_string_is_refused(api_for, agent, pb, query):
    client = api_for(agent)
    for url in (f"/api/banking/customers/?{query}", f"{SEARCH}?{query}", f"/api/tickets/?{query}"):
        response = client.get(url)
        assert response.status_code == 400, url
        assert response.json()["error"]["code"] == "number_in_url"
    response = client.post(f"{SEARCH}?{query}", {"q": pb.customer.mobile}, format="json")
    assert response.json()["error"]["code"] == "number_in_url"
    assert not AuditEvent.objects.filter(action="banking.customer_search").exists()


def test_mobile_numbers_dates_and_switch_ids_in_query_strings_pass(api_for, agent):
    client = api_for(agent)
    assert client.get("/api/tickets/?q=13800000001&date_from=2026-01-01&date_to=2026-12-31").status_code == 200
    # A switch's call id (FreeSWITCH UUID whose last group is all digits) is an identifier.
    response = client.get("/api/tickets/?call_id=9f0c1d2e-1111-4222-8333-123456789012")
    assert response.json().get("error", {}).get("code") != "number_in_url"


def test_the_old_get_search_is_gone(api_for, agent, pb):
    response = api_for(agent).get(f"/api/banking/customers/?q={pb.customer.mobile}")
    assert response.status_code in (404, 405)


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
    from banking.services.transfers import transfer_execute

    transfer_execute(
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
    from banking.services.accounts import internal_account

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
    from banking.errors import RegistrationLocked
    from banking.services.passwords import password_verify

    for attempt in range(3):
        try:
            password_verify(registration=pb.registration, password="000000", channel="ivr")
        except RegistrationLocked:
            assert attempt == 2
    url = f"/api/banking/registrations/{pb.registration.pk}/unlock/"
    assert api_for(agent).post(url, {}, format="json").status_code == 403
    response = api_for(lead).post(url, {"call_id": "C-5", "reason": "ID checked"}, format="json")
    assert response.status_code == 200
    assert response.json()["locked"] is False
    assert AuditEvent.objects.filter(action="banking.registration_unlock", actor=lead).exists()
    assert AccountEvent.objects.filter(kind="registration_unlocked").exists()
    assert password_verify(registration=pb.registration, password="123456", channel="ivr") is True


def test_switch_and_unit_staff_cannot_read_customers(api_for, pb):
    switch = make_staff(Role.SWITCH, username="switch-api")
    branch = make_staff(Role.UNIT_STAFF, unit=UnitFactory(code="B02"), username="branch-api")
    for user in (switch, branch):
        assert api_for(user).get(f"/api/banking/customers/{pb.customer.pk}/").status_code == 403
