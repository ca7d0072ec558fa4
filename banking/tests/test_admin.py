"""The admin shows banking read-only, scoped, with masked numbers and no password hashes."""

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory

from banking.models import Account
from org.roles import Role
from tests.factories_banking import phone_banking

pytestmark = pytest.mark.django_db

PAGES = [
    "customer",
    "account",
    "phonebankingregistration",
    "smsnoticesubscription",
    "ledgertransaction",
    "lossreport",
    "accountevent",
]


@pytest.mark.parametrize("model", PAGES)
def test_admin_lists_never_show_full_numbers_or_hashes(client_for, staff, model):
    pb = phone_banking(sms_notice=True)
    html = client_for(staff[Role.MAINTAINER]).get(f"/admin/banking/{model}/").content.decode()
    assert "<h1" in html
    for secret in (pb.card.number, pb.linked[0].number, pb.card.withdrawal_password, pb.registration.password):
        assert secret not in html


def test_admin_account_page_is_read_only_and_masked(client_for, staff):
    pb = phone_banking()
    client = client_for(staff[Role.MAINTAINER])
    html = client.get(f"/admin/banking/account/{pb.card.pk}/change/").content.decode()
    assert pb.card.number[:6] + "******" + pb.card.number[-4:] in html
    assert pb.card.number not in html and pb.card.withdrawal_password not in html
    assert 'name="balance_fen"' not in html  # no editable money field
    response = client.post(f"/admin/banking/account/{pb.card.pk}/change/", {"status": "closed"})
    assert response.status_code == 403


def test_admin_lists_are_unit_scoped(client_for, staff, branches):
    theirs = phone_banking(unit=branches[1])
    user = staff["unit_staff_b01"]
    user.is_staff = True
    user.save()
    # Unit staff have no model permissions by default; what matters is that the scope applies.
    request = RequestFactory().get("/admin/banking/account/")
    request.user = user
    assert theirs.card not in site._registry[Account].get_queryset(request)
