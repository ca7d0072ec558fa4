"""Staff login: session pages, API tokens, lockout after repeated failures, all audited."""

import pytest
from axes.models import AccessAttempt
from django.test import override_settings
from rest_framework.authtoken.models import Token

from audit.models import AuditEvent
from org.roles import Role
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def obtain(api_client, username, password):
    return api_client.post("/api/auth/token/", {"username": username, "password": password}, format="json")


def test_token_endpoint_returns_a_token_that_authenticates(api_client, staff):
    response = obtain(api_client, "agent", PASSWORD)
    assert response.status_code == 200
    token = response.json()["token"]
    assert Token.objects.get(key=token).user == staff[Role.AGENT]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/org/me/").json()["username"] == "agent"


def test_token_is_stable_across_requests(api_client, staff):
    assert obtain(api_client, "agent", PASSWORD).json() == obtain(api_client, "agent", PASSWORD).json()


def test_wrong_password_is_400_invalid_credentials_and_audited(api_client, staff):
    response = obtain(api_client, "agent", "wrong-password")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_credentials"
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.details == {"username": "agent"}


def test_inactive_user_gets_no_token(api_client, staff):
    user = staff[Role.AGENT]
    user.is_active = False
    user.save()
    assert obtain(api_client, "agent", PASSWORD).json()["error"]["code"] == "invalid_credentials"


@override_settings(AXES_FAILURE_LIMIT=3)
def test_account_locks_after_repeated_failures_even_for_the_right_password(api_client, staff):
    codes = [obtain(api_client, "analyst", f"guess-{n}").json()["error"]["code"] for n in range(3)]
    assert codes == ["invalid_credentials", "invalid_credentials", "account_locked"]
    response = obtain(api_client, "analyst", PASSWORD)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "account_locked"
    assert AuditEvent.objects.filter(action="auth.locked_out", object_id=str(staff[Role.ANALYST].pk)).exists()
    # Another account is not affected.
    assert obtain(api_client, "agent", PASSWORD).status_code == 200


@override_settings(AXES_FAILURE_LIMIT=3)
def test_login_page_locks_and_says_so(client, staff):
    for n in range(2):
        response = client.post("/accounts/login/", {"username": "director", "password": f"bad{n}"})
        assert response.status_code == 200 and "用户名或密码错误" in response.content.decode()
    response = client.post("/accounts/login/", {"username": "director", "password": "bad2"})
    assert response.status_code == 429
    response = client.post("/accounts/login/", {"username": "director", "password": PASSWORD})
    assert response.status_code == 429
    assert "锁定" in response.content.decode()


def test_successful_login_page_redirects_home_and_is_audited(client, staff):
    response = client.post("/accounts/login/", {"username": "team_lead", "password": PASSWORD}, follow=False)
    assert response.status_code == 302 and response["Location"] == "/"
    assert AuditEvent.objects.filter(action="auth.login", actor=staff[Role.TEAM_LEAD]).exists()


def test_success_resets_the_failure_count(api_client, staff):
    obtain(api_client, "agent", "bad")
    obtain(api_client, "agent", PASSWORD)
    assert not AccessAttempt.objects.filter(username="agent").exists()


def test_logout_is_post_and_audited(client_for, staff):
    client = client_for(staff[Role.AGENT])
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="auth.logout", actor=staff[Role.AGENT]).exists()
    assert client.get("/agent/desktop/").status_code == 302


def test_passwords_never_reach_the_audit_log_or_attempt_records(api_client, client, staff):
    secret = "Sup3r-secret-guess"
    obtain(api_client, "agent", secret)
    client.post("/accounts/login/", {"username": "agent", "password": secret})
    for event in AuditEvent.objects.all():
        assert secret not in str(event.details)
    for attempt in AccessAttempt.objects.all():
        assert secret not in f"{attempt.get_data}{attempt.post_data}"
