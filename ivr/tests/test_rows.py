"""The switch's hot path reads and writes rows with written-out SQL (``core.rows``): they must give
the same values as the ORM on every database, and a step must stay a few statements."""

import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core import rows
from ivr.locks import lock_call
from ivr.models import IvrCall, IvrEvent, MenuVersion
from org.roles import Role
from tests.factories import make_staff

pytest_plugins = ["ivr.tests.fixtures"]

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def field_values(instance):
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def statements(captured) -> list[str]:
    return [query["sql"] for query in captured if not query["sql"].upper().startswith(TRANSACTION_CONTROL)]


def test_rows_read_and_write_the_same_values_as_the_orm(caller):
    call = caller()
    call.start()
    call.press("1")
    orm = IvrCall.objects.get(call_id=call.call_id)
    with transaction.atomic():
        locked, account, login = lock_call(call.call_id)
    assert account is None and login is None  # neither verified nor logging in: nothing read along
    assert field_values(locked) == field_values(orm)
    assert not locked._state.adding

    locked.data = {"fails": 2, "auth": {"account_id": 7}, "text": "您好"}
    locked.path = [*locked.path, "info"]
    locked.verified, locked.ended, locked.outcome = True, True, IvrCall.Outcome.HANGUP
    event = IvrEvent(call=locked, seq=2, type="hangup", node="main", response={"actions": [{"type": "hangup"}]})
    with transaction.atomic():
        rows.update_and_insert(locked, ["data", "path", "verified", "ended", "outcome"], event)
    assert field_values(IvrCall.objects.get(pk=locked.pk)) == field_values(locked)
    stored = IvrEvent.objects.get(pk=event.pk)
    assert (stored.call_id, stored.seq, stored.response, stored.created_at) == (
        locked.pk,
        2,
        {"actions": [{"type": "hangup"}]},
        event.created_at,
    )


def test_a_simulator_users_lock_finds_only_their_own_test_calls(caller, db):
    call = caller()
    call.start()
    owner, other = make_staff(Role.AGENT, username="sim-owner"), make_staff(Role.AGENT, username="sim-other")
    IvrCall.objects.filter(call_id=call.call_id).update(is_test=True, started_by=owner)
    with transaction.atomic():
        assert lock_call("no-such-call") is None
        assert lock_call(call.call_id, started_by=other) is None
        assert lock_call(call.call_id, started_by=owner)[0].call_id == call.call_id


def test_a_menu_key_is_two_statements_at_most(caller):
    call = caller()
    with CaptureQueriesContext(connection) as start:
        call.start()
    with CaptureQueriesContext(connection) as key:
        call.press("3")
    # Start: the published version with its announcements, the call and its first event (one
    # statement on PostgreSQL). A key: read the call, save its state with the event (one statement
    # on PostgreSQL, a compare-and-set). Neither needs a transaction of its own there.
    postgres = connection.vendor == "postgresql"
    assert len(statements(start.captured_queries)) <= (2 if postgres else 3), statements(start.captured_queries)
    assert len(statements(key.captured_queries)) <= (2 if postgres else 3), statements(key.captured_queries)


@pytest.mark.parametrize("repeat", [1, 2])
def test_a_repeated_start_still_answers_the_first_response(caller, repeat):
    call = caller()
    first = call.start()
    for _ in range(repeat):
        response = call.client.post(
            call.base, {"call_id": call.call_id, "ani": call.ani, "dnis": "96xxx"}, format="json"
        )
        assert response.status_code == 200
        assert response.json()["actions"] == first
    assert IvrCall.objects.filter(call_id=call.call_id).count() == 1
    assert IvrEvent.objects.filter(call__call_id=call.call_id).count() == 1


def test_the_banking_look_ups_answer_as_the_banking_selectors(customer):
    from banking import selectors
    from ivr import banking_port as bank
    from tests.factories_banking import AccountFactory

    outsider = AccountFactory()
    for account in (customer.card, *customer.linked, outsider):
        expected = selectors.registration_for_account(account)
        expected_pk = expected.pk if expected is not None else None
        for found, registration in (
            bank.account_with_registration_by_number(account.number),
            bank.account_with_registration_by_id(account.pk),
            (bank.account_by_number(account.number), bank.registration_for_account(account)),
        ):
            assert field_values(found) == field_values(selectors.account_by_number(account.number))
            assert (registration.pk if registration is not None else None) == expected_pk
    assert bank.account_with_registration_by_number("9" * 19) == (None, None)
    assert bank.account_with_registration_by_id(None) == (None, None)
    assert bank.balance_yuan(bank.account_by_id(customer.card.pk)) == "50000.00"


def test_the_start_reads_version_and_announcements_as_the_two_selectors_do(ivr_menu):
    from datetime import timedelta

    from django.utils import timezone

    from ivr.models import Announcement
    from ivr.selectors import active_announcements, published_version, published_version_with_announcements

    now = timezone.now()
    hour = timedelta(hours=1)
    for title, position, starts, ends, enabled, priority in (
        ("later", "after_welcome", now - hour, now + hour, True, 20),
        ("first", "after_welcome", now - hour, now + hour, True, 10),
        ("tie-older", "after_welcome", now - 2 * hour, now + hour, True, 20),
        ("off", "after_welcome", now - hour, now + hour, False, 1),
        ("over", "after_welcome", now - 2 * hour, now - hour, True, 1),
        ("future", "after_welcome", now + hour, now + 2 * hour, True, 1),
        ("queue", "while_waiting", now - hour, now + hour, True, 1),
    ):
        Announcement.objects.create(
            title=title,
            text=title,
            position=position,
            starts_at=starts,
            ends_at=ends,
            enabled=enabled,
            priority=priority,
        )
    for position in ("after_welcome", "while_waiting"):
        version, announcements = published_version_with_announcements(position, at=now)
        assert field_values(version) == field_values(published_version())
        assert [a.title for a in announcements] == [a.title for a in active_announcements(position, at=now)]
    assert [a.title for a in published_version_with_announcements("after_welcome", at=now)[1]] == [
        "first",
        "tie-older",
        "later",
    ]
    MenuVersion.objects.filter(status=MenuVersion.Status.PUBLISHED).update(status=MenuVersion.Status.ARCHIVED)
    assert published_version_with_announcements("after_welcome", at=now) == (None, [])


def test_a_published_menu_is_not_read_again_but_an_edited_draft_is(caller, ivr_menu, staff):
    from ivr import services

    call = caller()
    call.start()
    call.press("3")  # compiles (or finds) the published menu once
    with CaptureQueriesContext(connection) as key:
        call.press("*")
    assert not [q["sql"] for q in key.captured_queries if "ivr_menuversion" in q["sql"]]

    # A preview call on a draft follows the maintainer's edits from one step to the next.
    draft = services.menu_version_copy(version=ivr_menu)
    tester = staff[Role.MAINTAINER]
    services.call_start(call_id="preview-1", version=draft, is_test=True, started_by=tester)
    services.prompt_set(version=draft, key="main_menu", text="改过的主菜单。")
    actions = services.call_event(call_id="preview-1", seq=1, type="digits", digits="7", started_by=tester)
    assert any(a.get("text") == "改过的主菜单。" for a in actions["actions"]), actions


def _as_the_server_shows(query: str) -> str:
    """A statement as ``pg_prepared_statements`` shows it: psycopg sends ``%s`` as ``$1``, ``$2``..."""
    numbers = iter(range(1, 10_000))
    return re.sub(r"%%|%s", lambda match: "%" if match.group() == "%%" else f"${next(numbers)}", query)


def test_the_hot_statements_are_prepared_on_the_server_and_the_orms_are_not(on_postgres, caller, monkeypatch):
    """Django turns psycopg's preparation off by default; without ``prepare_threshold`` in the
    settings an explicit ``prepare=True`` is silently ignored and every step is planned again."""
    written_out = []
    preparing = rows._server_binding_cursor_class(prepare=True)
    execute = preparing.execute

    def recording_execute(self, query, params=None, **kwargs):
        written_out.append(_as_the_server_shows(query))
        return execute(self, query, params, **kwargs)

    monkeypatch.setattr(preparing, "execute", recording_execute)
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        before = {statement for (statement,) in cursor.fetchall()}
    call = caller()
    call.start()
    call.press("3")
    call.press("0")
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements")
        prepared = {statement: runs for statement, runs in cursor.fetchall() if statement not in before}
    call_reads = [runs for statement, runs in prepared.items() if statement.startswith('SELECT "ivr_ivrcall"."id"')]
    assert call_reads == [2], prepared  # one statement, prepared once, run for both keys
    assert any(statement.startswith("WITH updated AS (UPDATE") for statement in prepared), prepared
    # The ORM binds on the client and prepares nothing: every statement prepared during the call
    # is one ``core.rows`` sent through its preparing cursor, and each of those is prepared.
    assert written_out, "the call's steps sent nothing through the preparing cursor"
    assert set(prepared) == set(written_out) - before, (sorted(prepared), sorted(set(written_out)))
    assert not any("%s" in statement for statement in prepared)
