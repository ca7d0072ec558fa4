"""Reads of the IVR: compiled menus, announcements, call context for the agent, statistics."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import QuerySet, Sum
from django.utils import timezone

from core import rows

from .menu import Menu, cached_menu, freeze_menu, frozen_menu, menu_from_tree
from .models import Announcement, IvrCall, MenuNode, MenuVersion, Prompt


def published_version() -> MenuVersion | None:
    # Read at the start of every call: one written-out statement (see ``core.rows``).
    found = rows.select_one(MenuVersion, '"ivr_menuversion"."status" = %s', [MenuVersion.Status.PUBLISHED])
    return found[0] if found is not None else None


def published_version_with_announcements(
    position: str, *, at: datetime | None = None
) -> tuple[MenuVersion | None, list[Announcement]]:
    """``(published_version(), active_announcements(position))`` in one statement: the start of
    every call needs both (the announcements joined to the version row, one row each)."""
    at = at or timezone.now()
    moment = Announcement._meta.get_field("starts_at").get_db_prep_value(at, connection)
    table = '"ivr_announcement"'
    found = rows.select(
        MenuVersion,
        '"ivr_menuversion"."status" = %s',
        [position, moment, moment, MenuVersion.Status.PUBLISHED],
        join=f'LEFT OUTER JOIN {table} ON {table}."enabled" AND {table}."position" = %s '
        f'AND {table}."starts_at" <= %s AND {table}."ends_at" > %s',
        extra=rows.columns(Announcement),
        order_by=f'"ivr_menuversion"."id", {table}."priority", {table}."starts_at", {table}."id"',
    )
    if not found:
        return None, []
    version = found[0][0]
    joined = (rows.joined(Announcement, extra) for row_version, extra in found if row_version.pk == version.pk)
    return version, [announcement for announcement in joined if announcement is not None]


def menu_version_list() -> QuerySet[MenuVersion]:
    return MenuVersion.objects.select_related("created_by", "published_by").order_by("-number")


def menu_tree_of(version: MenuVersion) -> dict[str, Any]:
    """The JSON form of a version's tree, read from its rows."""
    nodes = []
    for node in MenuNode.objects.filter(version=version).prefetch_related("options").order_by("position", "key"):
        item: dict[str, Any] = {"key": node.key, "kind": node.kind}
        for name, value in (
            ("title", node.title),
            ("prompt", node.prompt_key),
            ("text", node.text),
            ("next", node.next_key),
            ("queue", node.queue),
        ):
            if value:
                item[name] = value
        options = {option.digit: option.target_key for option in node.options.all()}
        if options:
            item["options"] = dict(sorted(options.items()))
        nodes.append(item)
    prompts = dict(Prompt.objects.filter(version=version).order_by("key").values_list("key", "text"))
    return {"root": version.root_key, "prompts": prompts, "nodes": nodes}


def menu_for_version(version: MenuVersion) -> Menu:
    """The compiled menu of ``version``, cached per process until the draft's next edit (past
    draft, for good: see ``menu_for_call``)."""
    menu = cached_menu(
        (version.pk, version.edit_token),
        lambda: menu_from_tree(menu_tree_of(version), version_id=version.pk, revision=version.revision),
    )
    if not version.is_draft:
        freeze_menu(version.pk, menu)
    return menu


def menu_for_call(version_id: int) -> Menu:
    """The compiled menu of a call's version, on every step of every call. A version past draft
    never changes again: its menu is cached by id and costs no query. A draft's (a preview that
    follows the maintainer's edits) is looked up by its current edit token: one statement."""
    menu = frozen_menu(version_id)
    if menu is not None:
        return menu
    found = rows.select_one(MenuVersion, '"ivr_menuversion"."id" = %s', [version_id])
    if found is None:
        raise MenuVersion.DoesNotExist(version_id)
    return menu_for_version(found[0])


def active_announcements(position: str, *, at: datetime | None = None) -> list[Announcement]:
    at = at or timezone.now()
    # Asked on every call's start: one written-out statement (see ``core.rows``), the same filter
    # and order as ``Announcement.objects.filter(enabled=True, position=position,
    # starts_at__lte=at, ends_at__gt=at).order_by("priority", "starts_at", "pk")``.
    starts_at = Announcement._meta.get_field("starts_at")
    moment = starts_at.get_db_prep_value(at, connection)
    table = '"ivr_announcement"'
    found = rows.select(
        Announcement,
        f'{table}."enabled" AND {table}."position" = %s AND {table}."starts_at" <= %s AND {table}."ends_at" > %s',
        [position, moment, moment],
        order_by=f'{table}."priority", {table}."starts_at", {table}."id"',
    )
    return [announcement for announcement, _extra in found]


def announcement_list() -> QuerySet[Announcement]:
    return Announcement.objects.select_related("updated_by").order_by("position", "priority", "-starts_at")


def ivr_context_for_call(call_id: str) -> dict[str, Any] | None:
    """What the agent's screen-pop shows of the caller's IVR session, or ``None`` if there was none:
    ``{"verified", "path", "customer_id", "account_id", "outcome", "queue", "node"}``."""
    call = (
        IvrCall.objects.filter(call_id=call_id)
        .only("verified", "path", "customer_id", "account_id", "outcome", "queue", "node")
        .first()
    )
    if call is None:
        return None
    return {
        "verified": call.verified,
        "path": list(call.path),
        "customer_id": call.customer_id if call.verified else None,
        "account_id": call.account_id if call.verified else None,
        "outcome": call.outcome,
        "queue": call.queue,
        "node": call.node,
    }


def ivr_handoff_contexts(call_ids: list[str]) -> dict[str, dict[str, Any]]:
    """What a CTI ``queued`` event carries of the caller's IVR session, per call that had one:
    ``{"verified", "path", "customer_id", "account_id"}`` (the customer only once verified). One
    call (a switch's single event) is one prepared statement (``core.rows``)."""
    if len(call_ids) == 1:
        table = rows._quote(IvrCall._meta.db_table)
        found = rows.select_one(IvrCall, f"{table}.{rows._quote('call_id')} = %s", [call_ids[0]])
        calls: Iterable[IvrCall] = [found[0]] if found else []
    else:
        calls = IvrCall.objects.filter(call_id__in=call_ids).only(
            "call_id", "verified", "path", "customer_id", "account_id"
        )
    return {
        call.call_id: {
            "verified": bool(call.verified),
            "path": list(call.path or []),
            "customer_id": call.customer_id if call.verified else None,
            "account_id": call.account_id if call.verified else None,
        }
        for call in calls
    }


def _local_day_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    tz = timezone.get_default_timezone()
    start = timezone.make_aware(datetime.combine(date_from, time.min), tz)
    end = timezone.make_aware(datetime.combine(date_to + timedelta(days=1), time.min), tz)
    return start, end


def ivr_statistics(date_from: date, date_to: date) -> dict[str, Any]:
    """IVR calls started in ``[date_from, date_to]`` (Asia/Shanghai local dates, inclusive),
    test calls from the simulator excluded.

    - ``nodes``: per node key, ``visits`` (times callers entered it) and ``exits`` (calls that
      ended while in it: hung up, sent to an agent or said goodbye);
    - ``auth_failures``: wrong numbers and passwords at login; ``lockouts``: calls in which the
      phone-banking password got (or already was) locked;
    - ``containment``: calls that ended in the IVR without going to an agent ÷ IVR calls
      (DESIGN.md §5); ``null`` when there were no calls.
    """
    start, end = _local_day_bounds(date_from, date_to)
    calls = IvrCall.objects.filter(started_at__gte=start, started_at__lt=end, is_test=False)
    visits: Counter[str] = Counter()
    exits: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    total = 0
    for path, node, ended, outcome in calls.values_list("path", "node", "ended", "outcome").iterator():
        total += 1
        visits.update(path or [])
        outcomes[outcome or "in_progress"] += 1
        if ended:
            exits[node] += 1
    totals = calls.aggregate(auth_failures=Sum("auth_failures"))
    contained = outcomes["hangup"] + outcomes["goodbye"]
    return {
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
        "calls": total,
        "outcomes": {
            "hangup": outcomes["hangup"],
            "goodbye": outcomes["goodbye"],
            "agent": outcomes["agent"],
            "in_progress": outcomes["in_progress"],
        },
        "contained": contained,
        "containment": round(contained / total, 4) if total else None,
        "auth_failures": totals["auth_failures"] or 0,
        "lockouts": calls.filter(locked_out=True).count(),
        "nodes": [
            {"node": key, "visits": visits[key], "exits": exits[key]}
            for key in sorted(set(visits) | set(exits), key=lambda k: (-visits[k], k))
        ],
    }


def ivr_calls_started(start: datetime, end: datetime) -> Iterable[tuple[Any, ...]]:
    """The IVR calls (test calls excluded) started in ``[start, end)``, for the reports' rollup:
    ``(started_at, path, node, ended, outcome, auth_failures, locked_out)``, streamed."""
    return (
        IvrCall.objects.filter(started_at__gte=start, started_at__lt=end, is_test=False)
        .order_by()
        .values_list("started_at", "path", "node", "ended", "outcome", "auth_failures", "locked_out")
        .iterator(chunk_size=5000)
    )


def ivr_call_trail(call_id: str) -> dict[str, Any] | None:
    """A call's IVR session for the call's page (``calls``), or ``None`` if it had none:
    ``{"started_at", "ended_at", "outcome", "outcome_label", "queue", "verified", "is_test",
    "path": [{"key", "label"}], "events": [{"seq", "at", "type", "type_label", "node",
    "node_label", "digits", "secret", "said", "transfer", "hangup"}]}`` — nodes named as staff read
    them (``ivr.labels``); digits as stored: a password never (``secret``), a card or account number
    in full (a page masks it). Three queries."""
    from .labels import node_label
    from .models import IvrEvent

    call = IvrCall.objects.filter(call_id=call_id).first()
    if call is None:
        return None
    titles = dict(MenuNode.objects.filter(version_id=call.version_id).values_list("key", "title"))

    def label(key: str) -> str:
        return node_label(key, titles.get(key, "")) if key else ""

    types = {code: str(name) for code, name in IvrEvent.Type.choices}
    events = []
    for event in IvrEvent.objects.filter(call=call).order_by("seq"):
        actions = (event.response or {}).get("actions") or []
        transfer = next((str(a.get("queue") or "") for a in actions if a.get("type") == "transfer"), "")
        events.append(
            {
                "seq": event.seq,
                "at": event.created_at,
                "type": event.type,
                "type_label": types.get(event.type, event.type),
                "node": event.node,
                "node_label": label(event.node),
                "digits": "" if event.digits == IvrEvent.REDACTED else event.digits,
                "secret": event.digits == IvrEvent.REDACTED,
                "said": [str(a.get("prompt") or "") for a in actions if a.get("type") == "say"],
                "transfer": transfer,
                "hangup": not transfer and any(a.get("type") == "hangup" for a in actions),
            }
        )
    return {
        "started_at": call.started_at,
        "ended_at": call.ended_at,
        "outcome": call.outcome,
        "outcome_label": str(call.get_outcome_display()),
        "queue": call.queue,
        "verified": call.verified,
        "is_test": call.is_test,
        "path": [{"key": key, "label": label(key)} for key in call.path or []],
        "events": events,
    }


def secret_spans(call_id: str) -> list[tuple[datetime, datetime]]:
    """When the switch was told to pause the recording of call ``call_id`` for a secret step (a
    password): ``[(paused_at, resumed_at)]`` in order, from the ``recording`` actions of the
    call's stored answers (``IvrEvent.response``; docs/ivr-switch.md "Recording"). A pause starts
    at the answer carrying it, a resume ends the span at the event whose answer carries it (the
    keys typed, a timeout, a hang-up); a span still open ends at the call's end or now. ``[]`` for
    a call that never reached a secret step or did not go through the IVR. Only times are kept:
    the digits typed are never stored. Used by the recordings to list their masked segments."""
    from .models import IvrEvent

    call = IvrCall.objects.filter(call_id=call_id).only("pk", "ended_at").first()
    if call is None:
        return []
    spans: list[tuple[datetime, datetime]] = []
    opened: datetime | None = None
    answers = IvrEvent.objects.filter(call=call).order_by("seq").values_list("created_at", "response")
    for at, response in answers:
        for action in (response or {}).get("actions") or []:
            if action.get("type") != "recording":
                continue
            if action.get("state") == "pause" and opened is None:
                opened = at
            elif action.get("state") == "resume" and opened is not None:
                spans.append((opened, max(at, opened)))
                opened = None
    if opened is not None:
        spans.append((opened, max(call.ended_at or timezone.now(), opened)))
    return spans


# --- transfers in the IVR, for the reports --------------------------------------------------------

# The longest an IVR call lasts, for bounding a period's events by their call's (indexed) start.
_LONGEST_IVR_CALL = timedelta(days=1)


def ivr_transfer_refusals(date_from: date, date_to: date) -> dict[str, Any]:
    """Transfers the IVR refused in ``[date_from, date_to]`` (Asia/Shanghai local dates,
    inclusive; the time of the event in which the caller heard the refusal), test calls excluded.
    Banking writes nothing for a refused transfer: the refusal is what the IVR said, the
    ``transfer_refused`` prompt of an event's response with its ``reason`` — banking's refusal
    code (``banking.selectors.transfer_refusal_labels``) or the IVR's own ``not_registered`` /
    ``invalid_amount``. ``refused``: how many; ``calls``: in how many calls; ``by_reason``:
    ``{code: count}``; ``done``: transfers the IVR announced as done (the ledger's
    ``banking.selectors.ivr_transfer_statistics`` is the count of record)."""
    from .models import IvrEvent

    start, end = _local_day_bounds(date_from, date_to)
    events = (
        IvrEvent.objects.filter(
            call__started_at__gte=start - _LONGEST_IVR_CALL,
            call__started_at__lt=end,
            call__is_test=False,
            call__verified=True,  # a transfer is reached only after a login
            created_at__gte=start,
            created_at__lt=end,
        )
        .order_by()
        .values_list("call_id", "response")
    )
    by_reason: Counter[str] = Counter()
    refused_calls: set[int] = set()
    done = 0
    for call_pk, response in events.iterator(chunk_size=2000):
        for action in (response or {}).get("actions") or []:
            if action.get("type") != "say":
                continue
            prompt = action.get("prompt")
            if prompt == "transfer_refused":
                by_reason[str((action.get("data") or {}).get("reason") or "")] += 1
                refused_calls.add(call_pk)
            elif prompt == "transfer_done":
                done += 1
    return {
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
        "refused": sum(by_reason.values()),
        "calls": len(refused_calls),
        "by_reason": dict(sorted(by_reason.items(), key=lambda item: (-item[1], item[0]))),
        "done": done,
    }


def ivr_test_call_ids(date_from: date, date_to: date) -> list[str]:
    """The ids of the simulator's test calls started in ``[date_from, date_to]`` (and the day
    before, for calls that run past midnight), so that what staff recorded on them is left out
    of the figures."""
    start, end = _local_day_bounds(date_from, date_to)
    return list(
        IvrCall.objects.filter(started_at__gte=start - _LONGEST_IVR_CALL, started_at__lt=end, is_test=True)
        .order_by()
        .values_list("call_id", flat=True)
    )
