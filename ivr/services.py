"""Writes of the IVR: calls and their events (the switch API and the simulator both come here),
menu versions (draft → publish → archive, rollback) and announcements.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record
from core import rows
from core.db import retry_on_conflict, single_statement

from . import banking_port as bank
from . import tts
from .engine import NotVerified, Turn, is_secret_step
from .errors import (
    CallEnded,
    CallExists,
    CallNotFound,
    MenuInvalid,
    MenuNotEditable,
    NoPublishedMenu,
    SeqOutOfOrder,
)
from .locks import CallRows, lock_call, read_call
from .menu import KINDS, menu_from_tree, validate_or_raise
from .models import Announcement, IvrCall, IvrEvent, MenuNode, MenuOption, MenuVersion, Prompt
from .selectors import (
    active_announcements,
    menu_for_call,
    menu_for_version,
    menu_tree_of,
    published_version_with_announcements,
)
from .signals import call_transferred_to_agent

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

DIGITS_PATTERN = re.compile(r"[0-9*]{0,32}")
URL_SAFE = "!$&'()*+,;=:@~"  # RFC 3986 sub-delimiters and ":@", left as they are in a path
EVENT_ATTEMPTS = 5
# What an event may change on the call row (the rest is fixed at the start).
STATE_FIELDS = [
    "node",
    "step",
    "data",
    "path",
    "verified",
    "account_id",
    "login_account_id",
    "customer_id",
    "auth_failures",
    "locked_out",
    "last_seq",
    "ended",
    "outcome",
    "queue",
    "ended_at",
]


# --- Calls ----------------------------------------------------------------------------------------


def _with_audio(call_id: str, seq: int, actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add ``audio_url`` to each ``say`` (rendered lazily when first fetched); none without TTS."""
    if not tts.available():
        return actions
    # Percent-encoded as ``reverse`` would (a switch's call id may hold ``? # % " <``).
    base = f"{settings.IVR_AUDIO_BASE_URL}/api/ivr/calls/{quote(call_id, safe=URL_SAFE)}/audio/{seq}-"
    for index, action in enumerate(actions):
        if action["type"] == "say":
            action["audio_url"] = f"{base}{index}.wav"
        for sub, item in enumerate(action.get("hold", ())):
            item["audio_url"] = f"{base}{index}-{sub}.wav"
    return actions


def _run(turn: Turn, step: Callable[[], object]) -> None:
    try:
        step()
    except NotVerified:
        # Only a draft in preview can reach an account node without a login; end it politely.
        logger.warning("IVR menu v%s: account node reached without login", turn.menu.version_id)
        turn.give_up()


def call_start(
    *,
    call_id: str,
    ani: str = "",
    dnis: str = "",
    version: MenuVersion | None = None,
    is_test: bool = False,
    started_by: User | None = None,
) -> tuple[dict[str, Any], bool]:
    """Start a call on the published menu (or ``version``, for a preview) → (response, created).

    A repeated start with the same ``ani`` and ``dnis`` (a switch retrying) returns the first
    response and ``created=False``; a different one is refused with ``call_exists``.
    """
    if version is None:
        version, welcome = published_version_with_announcements(Announcement.Position.AFTER_WELCOME)
        if version is None:
            raise NoPublishedMenu()

        def announcements(position: str) -> list[Announcement]:
            return welcome if position == Announcement.Position.AFTER_WELCOME else active_announcements(position)

    else:
        version = MenuVersion.objects.get(pk=version.pk)  # the draft's latest edit, not a stale copy
        announcements = active_announcements
    # The first turn runs on the unsaved row (it only reads); the call and its first event are then
    # one INSERT statement, atomic by itself: no transaction of its own.
    call = IvrCall(call_id=call_id, ani=ani, dnis=dnis, version=version, is_test=is_test, started_by=started_by)
    turn = Turn(call, menu_for_version(version), seq=0, announcements=announcements)
    _run(turn, turn.start)
    response = {"call_id": call_id, "actions": _with_audio(call_id, 0, turn.actions)}
    event = IvrEvent(seq=0, type=IvrEvent.Type.START, node=call.node, step=call.step, response=response)
    try:
        with single_statement():
            rows.insert_with_child(call, event, "call")
    except IntegrityError:
        # The call exists: a switch retrying its start (or two starts racing). No look-up
        # beforehand: the unique call_id decides, which saves the common case a query.
        existing = IvrCall.objects.filter(call_id=call_id).first()
        if existing is None:
            raise
        return _repeated_start(existing, ani=ani, dnis=dnis, is_test=is_test, started_by=started_by), False
    if call.ended:
        _announce_transfer(call)
    return response, True


def _announce_transfer(call: IvrCall) -> None:
    """After commit: tell the calls app that this call wants an agent. A simulator's test call
    too (``is_test``): it is queued and routed like a real one, marked as a test call. A preview
    of an unpublished version is a test call as well, and reaches the queue the same way."""
    if call.outcome != IvrCall.Outcome.AGENT:
        return
    payload = {
        "call_id": call.call_id,
        "ani": call.ani,
        "dnis": call.dnis,
        "queue": call.queue,
        "verified": call.verified,
        "customer_id": call.customer_id if call.verified else None,
        "account_id": call.account_id if call.verified else None,
        "path": list(call.path),
        "is_test": call.is_test,
    }
    transaction.on_commit(lambda: call_transferred_to_agent.send(sender=IvrCall, **payload))


def _repeated_start(call: IvrCall, *, ani: str, dnis: str, is_test: bool, started_by: User | None) -> dict[str, Any]:
    # A test call is never the switch's, nor another user's: its id is taken, nothing more is said.
    same_owner = call.is_test == is_test and (not is_test or call.started_by_id == getattr(started_by, "pk", None))
    if call.ani != ani or call.dnis != dnis or not same_owner:
        raise CallExists()
    return IvrEvent.objects.get(call=call, seq=0).response


@retry_on_conflict(attempts=EVENT_ATTEMPTS)
def call_event(
    *, call_id: str, seq: int, type: str, digits: str = "", started_by: User | None = None
) -> dict[str, Any]:
    """Apply one event of the switch (or the simulator) and return ``{"actions": [...]}``.

    ``seq`` must be the last one + 1; a repeat of the last one (a switch retrying) returns the
    stored response and executes nothing; older or skipped ones are ``seq_out_of_order``.
    Concurrent retries of one ``seq`` execute it once: the others get the stored response.
    ``started_by`` restricts the call to a simulator user's own test calls. A transaction the
    database aborts as a deadlock victim is run again.

    Most events change nothing but the call (menu keys, a card number, a right password, a
    balance, a hang-up): they read the call without a lock and save its new state and the event
    in one statement only if the call is still at the ``seq`` they read (a compare-and-set on
    ``last_seq``), so a step costs no transaction of its own. An event that reaches a banking
    write (a wrong password to count, a transfer, a loss report: the port raises
    ``WriteNeedsLock`` before writing), or one that lost the compare-and-set, runs again with the
    call row locked, banking included, in one transaction.
    """
    with bank.event():
        response = _call_event_unlocked(call_id=call_id, seq=seq, type=type, digits=digits, started_by=started_by)
        if response is None:
            response = _call_event_locked(call_id=call_id, seq=seq, type=type, digits=digits, started_by=started_by)
    return response


def _call_event_unlocked(
    *, call_id: str, seq: int, type: str, digits: str, started_by: User | None
) -> dict[str, Any] | None:
    """The event as a compare-and-set, or ``None`` when it must run locked."""
    found = _found(read_call(call_id, started_by=started_by))
    replayed = _replayed(found.call, seq)
    if replayed is not None:
        return replayed
    try:
        with bank.read_only():
            return _apply(found, seq=seq, type=type, digits=digits, expect_seq=found.call.last_seq)
    except bank.WriteNeedsLock:
        return None


@transaction.atomic
def _call_event_locked(*, call_id: str, seq: int, type: str, digits: str, started_by: User | None) -> dict[str, Any]:
    found = _found(lock_call(call_id, started_by=started_by))
    replayed = _replayed(found.call, seq)
    if replayed is not None:
        return replayed
    response = _apply(found, seq=seq, type=type, digits=digits)
    if response is None:  # the locked row cannot move; only a call deleted meanwhile gets here
        raise CallNotFound()
    return response


def _found(found: CallRows | None) -> CallRows:
    if found is None:
        raise CallNotFound()
    return found


def _replayed(call: IvrCall, seq: int) -> dict[str, Any] | None:
    """The stored response when ``seq`` repeats the last event; ``None`` when it is the next one;
    otherwise the error."""
    if seq == call.last_seq and seq > 0:
        # The switch retrying its latest request (the answer got lost): the same answer again,
        # nothing executed.
        return IvrEvent.objects.get(call=call, seq=seq).response
    if seq < call.last_seq:
        # A switch only retries the request it is waiting for; an older seq means its counter
        # went backwards.
        raise SeqOutOfOrder(
            _("Event %(seq)s is older than the last one (%(last)s); the next is %(next)s.")
            % {"seq": seq, "last": call.last_seq, "next": call.last_seq + 1}
        )
    if call.ended:
        raise CallEnded()
    if seq != call.last_seq + 1:
        raise SeqOutOfOrder(_("Expected event %(next)s, got %(seq)s.") % {"next": call.last_seq + 1, "seq": seq})
    return None


def _apply(
    found: CallRows, *, seq: int, type: str, digits: str, expect_seq: int | None = None
) -> dict[str, Any] | None:
    """Run the event on the call and save its state with the event (the retry log) in one
    statement; with ``expect_seq`` only if the call is still there (else ``None``)."""
    call = found.call
    secret = type == "digits" and is_secret_step(call)
    node_before, step_before = call.node, call.step
    menu = menu_for_call(call.version_id)
    turn = Turn(call, menu, seq=seq, announcements=active_announcements, account=found.account, login=found.login)
    # A simulator's test call moves no money and locks nothing: its banking writes are simulated
    # (the same rules and answers, rolled back), with the call's own sandbox of their effects.
    scope = bank.simulation(call.data.setdefault("sandbox", {})) if call.is_test else nullcontext()
    with scope as simulated:
        if type == "digits":
            _run(turn, lambda: turn.on_digits(digits))
        elif type == "timeout":
            _run(turn, turn.on_timeout)
        else:
            turn.on_hangup()
    if simulated is not None:
        call.data["simulated"] = simulated  # this event's simulated writes, for the simulator page
    response = {"actions": _with_audio(call.call_id, seq, turn.actions)}
    call.last_seq = seq
    event = IvrEvent(
        call=call,
        seq=seq,
        type=type,
        digits=IvrEvent.REDACTED if secret else (digits if type == "digits" else ""),
        node=node_before,
        step=step_before,
        response=response,
    )
    expect = {"last_seq": expect_seq} if expect_seq is not None else None
    if not rows.update_and_insert(call, STATE_FIELDS, event, expect=expect):
        return None
    if call.ended:
        _announce_transfer(call)
    return response


def current_step(call: IvrCall) -> dict[str, Any]:
    """The last response of a call (what the switch is doing now) and the next ``seq``."""
    event = IvrEvent.objects.get(call=call, seq=call.last_seq)
    return {"actions": event.response.get("actions", []), "next_seq": call.last_seq + 1, "ended": call.ended}


# --- Menu versions --------------------------------------------------------------------------------


def _next_number() -> int:
    return (MenuVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1


def _write_tree(version: MenuVersion, tree: dict[str, Any]) -> None:
    menu = menu_from_tree(tree)  # shape errors raise MenuInvalid before anything is written
    MenuOption.objects.filter(node__version=version).delete()
    MenuNode.objects.filter(version=version).delete()
    Prompt.objects.filter(version=version).delete()
    Prompt.objects.bulk_create([Prompt(version=version, key=key, text=text) for key, text in menu.prompts.items()])
    for position, node in enumerate(menu.nodes.values()):
        row = MenuNode.objects.create(
            version=version,
            key=node.key,
            kind=node.kind,
            title=node.title,
            prompt_key=node.prompt,
            text=node.text,
            next_key=node.next,
            queue=node.queue,
            position=position * 10,
        )
        MenuOption.objects.bulk_create(
            [MenuOption(node=row, digit=digit, target_key=target) for digit, target in node.options.items()]
        )
    version.root_key = menu.root
    _touch(version)


def _touch(version: MenuVersion) -> None:
    """Count an edit: the engine caches compiled menus by the edit token."""
    MenuVersion.objects.filter(pk=version.pk).update(
        revision=F("revision") + 1, edit_token=uuid.uuid4(), root_key=version.root_key
    )
    version.refresh_from_db(fields=["revision", "edit_token", "root_key"])


def _lock_version(version: MenuVersion) -> MenuVersion:
    return MenuVersion.objects.select_for_update().get(pk=version.pk)


def _editable(version: MenuVersion) -> MenuVersion:
    version = _lock_version(version)
    if not version.is_draft:
        raise MenuNotEditable()
    return version


@transaction.atomic
def menu_version_create(
    *, tree: dict[str, Any], actor: User | None = None, note: str = "", based_on: MenuVersion | None = None
) -> MenuVersion:
    """A new draft holding ``tree``."""
    version = MenuVersion.objects.create(number=_next_number(), note=note, created_by=actor, based_on=based_on)
    _write_tree(version, tree)
    audit_record(actor=actor, action="ivr.menu_draft_created", obj=version, details={"number": version.number})
    return version


def menu_version_copy(*, version: MenuVersion, actor: User | None = None, note: str = "") -> MenuVersion:
    """A new draft starting as a copy of ``version`` (any status)."""
    note = note or _("Copy of version %(number)s") % {"number": version.number}
    return menu_version_create(tree=menu_tree_of(version), actor=actor, note=note, based_on=version)


@transaction.atomic
def menu_tree_replace(*, version: MenuVersion, tree: dict[str, Any], actor: User | None = None) -> MenuVersion:
    """Replace a draft's whole tree (JSON form); drafts may be invalid until published."""
    version = _editable(version)
    _write_tree(version, tree)
    audit_record(actor=actor, action="ivr.menu_draft_changed", obj=version, details={"number": version.number})
    return version


@transaction.atomic
def menu_version_publish(*, version: MenuVersion, actor: User | None = None) -> MenuVersion:
    """Publish a draft, or re-publish an archived version (rollback). The version published
    before is archived; calls already in progress keep the version they started on."""
    version = _lock_version(version)
    if version.status == MenuVersion.Status.PUBLISHED:
        return version
    validate_or_raise(menu_for_version(version))
    previous = (
        MenuVersion.objects.select_for_update().filter(status=MenuVersion.Status.PUBLISHED).exclude(pk=version.pk)
    )
    archived = [v.number for v in previous]
    previous.update(status=MenuVersion.Status.ARCHIVED)
    rollback = version.status == MenuVersion.Status.ARCHIVED
    version.status = MenuVersion.Status.PUBLISHED
    version.published_at = timezone.now()
    version.published_by = actor
    version.save(update_fields=["status", "published_at", "published_by"])
    audit_record(
        actor=actor,
        action="ivr.menu_rolled_back" if rollback else "ivr.menu_published",
        obj=version,
        details={"number": version.number, "archived": archived},
    )
    return version


def menu_version_rollback(*, version: MenuVersion, actor: User | None = None) -> MenuVersion:
    if version.status != MenuVersion.Status.ARCHIVED:
        raise MenuNotEditable(_("Only an archived version can be rolled back to."), code="not_archived")
    return menu_version_publish(version=version, actor=actor)


@transaction.atomic
def menu_version_discard(*, version: MenuVersion, actor: User | None = None) -> None:
    """Delete a draft that no call has used (previews keep theirs for the record)."""
    version = _editable(version)
    if IvrCall.objects.filter(version=version).exists():
        raise MenuNotEditable(_("Test calls used this draft; it is kept for the record."), code="draft_in_use")
    number = version.number
    MenuOption.objects.filter(node__version=version).delete()
    version.delete()
    audit_record(actor=actor, action="ivr.menu_draft_discarded", object_type="menuversion", object_id=number)


@transaction.atomic
def prompt_set(*, version: MenuVersion, key: str, text: str, actor: User | None = None) -> Prompt:
    version = _editable(version)
    text = text.strip()
    if not text:
        raise MenuInvalid(_("A prompt needs a text."), code="missing_prompt")
    prompt, _created = Prompt.objects.update_or_create(version=version, key=key, defaults={"text": text})
    _touch(version)
    return prompt


@transaction.atomic
def menu_node_save(*, version: MenuVersion, key: str, fields: dict[str, Any], actor: User | None = None) -> MenuNode:
    """Create or change node ``key`` of a draft: ``kind``, ``title``, ``prompt_key``, ``text``,
    ``next_key``, ``queue``; ``options`` (``{digit: target}``) replaces the node's options."""
    version = _editable(version)
    options = fields.pop("options", None)
    if fields.get("kind", "menu") not in KINDS:
        raise MenuInvalid(_("Unknown node kind."), code="unknown_kind")
    node = MenuNode.objects.filter(version=version, key=key).first()
    if node is None:
        position = (MenuNode.objects.filter(version=version).aggregate(p=Max("position"))["p"] or 0) + 10
        node = MenuNode(version=version, key=key, position=position, kind=fields.get("kind", "menu"))
    for name, value in fields.items():
        setattr(node, name, value)
    node.full_clean(exclude=["version"], validate_unique=False)
    node.save()
    if options is not None:
        node.options.all().delete()
        MenuOption.objects.bulk_create(
            [MenuOption(node=node, digit=digit, target_key=target) for digit, target in sorted(options.items())]
        )
    _touch(version)
    return node


@transaction.atomic
def menu_node_delete(*, version: MenuVersion, key: str, actor: User | None = None) -> None:
    version = _editable(version)
    MenuOption.objects.filter(node__version=version, node__key=key).delete()
    MenuNode.objects.filter(version=version, key=key).delete()
    _touch(version)


@transaction.atomic
def menu_version_set_root(*, version: MenuVersion, root_key: str, actor: User | None = None) -> MenuVersion:
    version = _editable(version)
    version.root_key = root_key
    _touch(version)
    return version


# --- Announcements --------------------------------------------------------------------------------


@transaction.atomic
def announcement_save(
    *,
    announcement: Announcement | None = None,
    title: str,
    text: str,
    position: str,
    starts_at: datetime,
    ends_at: datetime,
    enabled: bool = True,
    priority: int = 10,
    actor: User | None = None,
) -> Announcement:
    if ends_at <= starts_at:
        raise MenuInvalid(_("The announcement must end after it starts."), code="invalid_window")
    if position not in Announcement.Position.values:
        raise MenuInvalid(_("Unknown position."), code="invalid_position")
    announcement = announcement or Announcement()
    creating = announcement.pk is None
    for name, value in {
        "title": title.strip(),
        "text": text.strip(),
        "position": position,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "enabled": enabled,
        "priority": priority,
        "updated_by": actor,
    }.items():
        setattr(announcement, name, value)
    announcement.save()
    audit_record(
        actor=actor,
        action="ivr.announcement_created" if creating else "ivr.announcement_changed",
        obj=announcement,
        details={"title": announcement.title, "position": position, "enabled": enabled},
    )
    return announcement


@transaction.atomic
def announcement_delete(*, announcement: Announcement, actor: User | None = None) -> None:
    audit_record(
        actor=actor, action="ivr.announcement_deleted", obj=announcement, details={"title": announcement.title}
    )
    announcement.delete()
