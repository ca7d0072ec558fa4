import pytest
from django.db import connection
from rest_framework.test import APIClient

from org.roles import Role
from tests.factories import UnitFactory, make_staff


def pytest_collection_modifyitems(config, items):
    """``postgres`` and ``redis`` tests need the full stack; skip them in the embedded default."""
    from django.conf import settings

    for item in items:
        if "postgres" in item.keywords and not settings.USING_POSTGRES:
            item.add_marker(pytest.mark.skip(reason="needs DATABASE_URL=postgres://..."))
        if "redis" in item.keywords and not settings.REDIS_URL:
            item.add_marker(pytest.mark.skip(reason="needs REDIS_URL=redis://..."))


@pytest.fixture(autouse=True)
def fresh_menu_caches():
    """Compiled IVR menus are cached per process by version id; test databases reuse ids."""
    from ivr.menu import clear_menu_caches

    clear_menu_caches()
    yield
    clear_menu_caches()


@pytest.fixture(autouse=True)
def no_inherited_event_loop():
    """Each test starts without the event loop asgiref remembers for this thread.

    asgiref records, per thread, the loop a sync function was last run for from async code
    (``SyncToAsync.threadlocal.main_event_loop``) and never clears it; ``calls.realtime`` takes a
    running one to mean "this thread serves an event loop" and pushes through it. A loop an
    earlier test left running in another thread (or suspended, still marked running) then takes
    a later test's pushes: twice in the full PostgreSQL suite a sync test's push waited on such
    a loop (``banking/tests/test_batches.py``, hung in ``async_to_sync``) or used its dead Redis
    connections (``tests/test_calls_push.py``). No test starts inside a loop, so the record is
    dropped; a running one is reported, to find the test that leaves it."""
    import threading
    import warnings

    from asgiref.sync import SyncToAsync

    if threading.current_thread() is threading.main_thread():
        record = SyncToAsync.threadlocal.__dict__
        loop = record.pop("main_event_loop", None)
        record.pop("main_event_loop_pid", None)
        if loop is not None and loop.is_running():
            warnings.warn(f"an earlier test left a running event loop recorded: {loop!r}", stacklevel=1)


@pytest.fixture(autouse=True)
def marks_at_once(settings):
    """Rollup marks are written at each change's commit in tests (full mode collects them for
    ``REPORTS_MARK_FLUSH_S`` in a timer thread; ``tests/test_reports_pending_marks.py`` tests that)."""
    settings.REPORTS_MARK_FLUSH_S = 0


@pytest.fixture(autouse=True)
def sms_files(tmp_path_factory, settings):
    """The file gateway writes each test's messages into a directory of its own: a file named by
    a row id counts as sent, and test databases reuse ids."""
    from notifications import delivery

    gateway = delivery.gateway  # the cached factory (a test may replace it meanwhile)
    settings.SMS_FILE_DIR = str(tmp_path_factory.mktemp("sms"))
    gateway.cache_clear()
    yield
    gateway.cache_clear()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def branches(db):
    return [UnitFactory(code=f"B{n:02d}") for n in range(1, 4)]


@pytest.fixture
def staff(db, branches):
    """One user per role; unit staff of B01 and B02."""
    users = {role: make_staff(role, username=role) for role in Role.values if role != Role.UNIT_STAFF}
    users["unit_staff_b01"] = make_staff(Role.UNIT_STAFF, unit=branches[0], username="branch01")
    users["unit_staff_b02"] = make_staff(Role.UNIT_STAFF, unit=branches[1], username="branch02")
    return users


@pytest.fixture
def client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def api_for(api_client):
    def authenticate(user):
        api_client.force_authenticate(user)
        return api_client

    return authenticate


@pytest.fixture
def on_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
