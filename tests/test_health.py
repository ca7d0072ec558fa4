import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_ok(client, settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    expected_redis = "ok" if settings.REDIS_URL else "not_configured"
    assert body["checks"]["redis"]["status"] == expected_redis


@override_settings(REDIS_URL="redis://127.0.0.1:1/0", HEALTHZ_TIMEOUT_S=0.5)
def test_healthz_is_503_when_redis_is_down(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error" and body["checks"]["redis"]["status"] == "error"


def test_healthz_is_503_when_the_database_fails(client, monkeypatch):
    from core import health

    class Broken:
        def __enter__(self):
            from django.db import OperationalError

            raise OperationalError("down")

        def __exit__(self, *args):
            return False

    monkeypatch.setattr(health.connection, "cursor", lambda: Broken())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {"status": "error", "error": "OperationalError"}


@pytest.mark.redis
def test_healthz_checks_real_redis(client):
    body = client.get("/healthz").json()
    assert body["mode"] == "full" and body["checks"]["redis"]["status"] == "ok"


def test_maintainer_config_page_shows_health(client_for, staff):
    from org.roles import Role

    html = client_for(staff[Role.MAINTAINER]).get("/config/").content.decode()
    assert "系统运行状态" in html and "status-ok" in html
