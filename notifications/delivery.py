"""Delivery of the SMS outbox through a gateway, each message once (issue 15; docs/notifications.md).

A row moves ``pending → sending → sent → delivered / failed``; each move is an ``SmsEvent``.

* **Claim** (``claim``): due ``pending`` rows become ``sending`` under a fresh claim token, in one
  short transaction (``FOR UPDATE SKIP LOCKED``: two workers never take the same row; the task
  run twice finds the row no longer pending).
* **Send** outside any transaction: the gateway is called once per claimed row.
* **Record**: ``sent`` with the gateway's message id — only if the row still carries our claim
  (a reconciler may have moved it meanwhile). A temporary error puts the row back to
  ``pending`` with a backoff (``SMS_RETRY_BASE_S`` × 2^attempt, at most ``SMS_RETRY_MAX_S``) until
  ``SMS_MAX_ATTEMPTS``, then ``failed``; a refusal is ``failed`` at once. ``failed`` rows are the
  dead-letter list: the maintainer requeues or cancels them (audited).
* **Exactly once across crashes**: a row left in ``sending`` (the worker died after the gateway
  took the message and before the row was marked, or the gateway timed out after the request
  went out) is never resent blindly. After ``SMS_SENDING_STALE_S`` the sweep reconciles it: the
  gateway is asked by the row's id (``query``, where the gateway says ``can_query``: the file and
  HTTP gateways always can; SMPP only for messages its session saw accepted): taken → ``sent``;
  not taken → ``pending`` again; cannot tell (``GatewayError(maybe_sent=True)``) → ``failed``
  with ``unknown_outcome``, for the maintainer to requeue (sent again without asking) or cancel.
* **Receipts** (``receipt_record``) move ``sent`` rows to ``delivered`` or ``failed``.
* **Policy** (``notifications.policy``, asked by the claim): quiet hours and limits of marketing,
  the flood limit per phone of every kind; a row held back stays ``pending`` with a later
  ``next_attempt_at`` or is cancelled (over a marketing quota), each with an event. The other
  kinds are claimed and swept before marketing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.services import audit_record

from . import policy
from .gateways.base import Gateway, GatewayError, GatewayRejected, OutgoingSms, Receipt, Submitted
from .models import SmsEvent, SmsOutbox

logger = logging.getLogger(__name__)
Kind, Status = SmsOutbox.Kind, SmsOutbox.Status


@cache
def gateway() -> Gateway:
    """The gateway of ``settings.SMS_GATEWAY`` (one per process)."""
    kind = settings.SMS_GATEWAY
    if kind == "http":
        from .gateways.http import HttpGateway

        return HttpGateway(settings.SMS_HTTP_URL, settings.SMS_HTTP_SECRET, timeout_s=settings.SMS_HTTP_TIMEOUT_S)
    if kind == "smpp":
        from .gateways.smpp import SmppGateway

        return SmppGateway(
            settings.SMS_SMPP_HOST,
            settings.SMS_SMPP_PORT,
            settings.SMS_SMPP_SYSTEM_ID,
            settings.SMS_SMPP_PASSWORD,
            system_type=settings.SMS_SMPP_SYSTEM_TYPE,
            source_addr=settings.SMS_SOURCE_ADDR,
            on_receipt=_smpp_receipt,
            enquire_link_s=settings.SMS_SMPP_ENQUIRE_LINK_S,
            timeout_s=settings.SMS_SMPP_TIMEOUT_S,
        )
    from .gateways.file import FileGateway

    return FileGateway(settings.SMS_FILE_DIR)


def _smpp_receipt(receipt: Receipt) -> None:
    """The SMPP session's reader thread reports a receipt. One for a message id no row carries
    yet (the receipt outran the task that stores the id) raises: the gateway answers the SMSC
    with a temporary error and the SMSC sends it again later."""
    close_old_connections()
    try:
        if (
            not receipt_record(receipt, gateway_name="smpp")
            and not SmsOutbox.objects.filter(gateway="smpp", gateway_id=receipt.gateway_id).exists()
        ):
            raise LookupError(f"no SMS with gateway id {receipt.gateway_id} yet")
    finally:
        close_old_connections()


def masked(phone: str) -> str:
    """A phone number for logs: its last four digits."""
    return f"…{phone[-4:]}" if len(phone) > 4 else "…"


def _event(row: SmsOutbox, status: str, detail: str = "", *, actor: Any = None) -> None:
    SmsEvent.objects.create(message=row, status=status, attempt=row.attempts, detail=detail[:200], actor=actor)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(settings.SMS_RETRY_BASE_S * 2 ** max(attempts - 1, 0), settings.SMS_RETRY_MAX_S))


# --- claim, send, record --------------------------------------------------------------------------


def claim(
    *, ids: Iterable[int] | None = None, limit: int = 50, fill: bool = False, now: datetime | None = None
) -> list[SmsOutbox]:
    """Take due ``pending`` rows (these ids, or the oldest; with ``fill`` these ids and then the
    oldest others up to ``limit``) for sending: they become ``sending`` under one new claim
    token. Rows another worker holds are skipped. The other kinds come before marketing (the ids'
    rows first; "the oldest" are the other kinds', then, without ids, marketing's; ``fill`` never
    takes marketing rows: the sweep hands them out within their rate). The policy
    (``notifications.policy``: quiet hours, marketing limits, the flood limit per phone) may hold
    some back: deferred (still ``pending``, a later ``next_attempt_at``) or cancelled, each with an
    event; those are not returned. A batch is claimed in a few statements whatever its size."""
    now = now or timezone.now()
    due = SmsOutbox.objects.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now), status=Status.PENDING)
    with transaction.atomic():
        locked: list[SmsOutbox] = []
        if ids is not None:
            wanted = list(ids)
            locked = list(
                due.filter(pk__in=wanted)
                .order_by(policy.PRIORITY, "created_at", "pk")
                .select_for_update(skip_locked=True)[:limit]
            )
        if ids is None or (fill and len(locked) < limit):
            others = due.exclude(pk__in=[row.pk for row in locked])
            locked += list(
                others.exclude(kind=Kind.MARKETING)
                .order_by("created_at", "pk")
                .select_for_update(skip_locked=True)[: limit - len(locked)]
            )
            if ids is None and len(locked) < limit:
                locked += list(
                    others.filter(kind=Kind.MARKETING)
                    .order_by("created_at", "pk")
                    .select_for_update(skip_locked=True)[: limit - len(locked)]
                )
        if not locked:
            return []
        held = policy.judge(locked, now=now)
        claimed = [row for row in locked if row.pk not in held]
        events = _hold(locked, held) if held else []
        if claimed:
            token = uuid.uuid4().hex
            SmsOutbox.objects.filter(pk__in=[row.pk for row in claimed]).update(
                status=Status.SENDING, claim=token, claimed_at=now, attempts=F("attempts") + 1
            )
            for row in claimed:
                row.status, row.claim, row.claimed_at = Status.SENDING, token, now
                row.attempts += 1
            events += [SmsEvent(message=row, status=Status.SENDING, attempt=row.attempts) for row in claimed]
        SmsEvent.objects.bulk_create(events)
    return claimed


def _hold(rows: list[SmsOutbox], held: dict[int, policy.Verdict]) -> list[SmsEvent]:
    """Apply the policy's verdicts (a statement per distinct deferral time, one for the
    cancellations); their events, to be written with the batch's."""
    deferred: dict[datetime | None, list[int]] = {}
    cancelled: dict[str, list[int]] = {}  # by reason (kept as the row's last error)
    events = []
    for row in rows:
        verdict = held.get(row.pk)
        if verdict is None:
            continue
        detail = verdict.detail[:200]
        if verdict.status == Status.CANCELLED:
            cancelled.setdefault(detail, []).append(row.pk)
            row.status, row.last_error = Status.CANCELLED, detail
        else:
            deferred.setdefault(verdict.until, []).append(row.pk)
            row.next_attempt_at = verdict.until
        events.append(SmsEvent(message=row, status=row.status, attempt=row.attempts, detail=detail))
    for until, pks in deferred.items():
        SmsOutbox.objects.filter(pk__in=pks).update(next_attempt_at=until)
    for detail, pks in cancelled.items():
        SmsOutbox.objects.filter(pk__in=pks).update(status=Status.CANCELLED, last_error=detail)
    return events


def _quiet_now(row: SmsOutbox) -> bool:
    """A marketing row claimed just before the quiet hours began is not sent inside them: it goes
    back to ``pending`` until their end (its attempt given back). True when so."""
    if row.kind != Kind.MARKETING:
        return False
    until = policy.quiet_until(timezone.now())
    if until is None:
        return False
    _finish(
        row,
        status=Status.PENDING,
        claim="",
        next_attempt_at=until,
        attempts=max(row.attempts - 1, 0),
        _detail=policy.quiet_detail(until),
    )
    return True


def _finish(row: SmsOutbox, **changes: Any) -> bool:
    """Apply ``changes`` to a row we claimed — unless the claim is no longer ours (a reconciler or
    the maintainer moved it): then nothing changes and False is returned."""
    with transaction.atomic():
        current = (
            SmsOutbox.objects.select_for_update().filter(pk=row.pk, claim=row.claim, status=Status.SENDING).first()
        )
        if current is None:
            return False
        detail = changes.pop("_detail", "")
        for name, value in changes.items():
            setattr(current, name, value)
        current.save(update_fields=list(changes))
        _event(current, current.status, detail)
        for name, value in changes.items():
            setattr(row, name, value)
    return True


def _failed_send(row: SmsOutbox, exc: Exception, via: Gateway) -> str:
    """Record a send the gateway refused or could not take; the row's new status."""
    if isinstance(exc, GatewayRejected):
        _finish(row, status=Status.FAILED, claim="", last_error=f"rejected: {exc}"[:200], _detail="rejected")
        logger.warning("SMS %s to %s refused by the %s gateway: %s", row.pk, masked(row.phone), via.name, exc)
        return Status.FAILED
    assert isinstance(exc, GatewayError)
    if exc.maybe_sent:
        # The gateway may have it: the row stays ``sending`` and is reconciled, never resent blindly.
        logger.warning("SMS %s: %s gateway outcome unknown (%s), to reconcile", row.pk, via.name, exc)
        return Status.SENDING
    if row.attempts >= settings.SMS_MAX_ATTEMPTS:
        _finish(row, status=Status.FAILED, claim="", last_error=str(exc)[:200], _detail="attempts exhausted")
        return Status.FAILED
    _finish(
        row,
        status=Status.PENDING,
        claim="",
        next_attempt_at=timezone.now() + _backoff(row.attempts),
        last_error=str(exc)[:200],
        _detail=f"retry: {exc}",
    )
    return Status.PENDING


def send_claimed(row: SmsOutbox, *, via: Gateway | None = None) -> str:
    """Call the gateway once for a row we claimed and record the answer; the row's new status."""
    via = via or gateway()
    if _quiet_now(row):
        return Status.PENDING
    message = OutgoingSms(id=row.pk, phone=row.phone, text=row.text)
    try:
        submitted = via.send(message)
    except (GatewayError, GatewayRejected) as exc:
        return _failed_send(row, exc, via)
    _record_sent(row, submitted, via.name)
    return Status.SENT


def _record_sent(row: SmsOutbox, submitted: Submitted, gateway_name: str) -> None:
    _finish(
        row,
        status=Status.SENT,
        claim="",
        gateway=gateway_name,
        gateway_id=submitted.gateway_id,
        segments=submitted.segments,
        sent_at=timezone.now(),
        last_error="",
        _detail=submitted.gateway_id,
    )


def _record_sent_many(sent: list[tuple[SmsOutbox, Submitted]], gateway_name: str) -> None:
    """``_record_sent`` for a batch, in one transaction and four statements: only the rows that
    still carry our claim move to ``sent``."""
    if not sent:
        return
    now = timezone.now()
    by_pk = {row.pk: (row, submitted) for row, submitted in sent}
    with transaction.atomic():
        held = SmsOutbox.objects.select_for_update().filter(pk__in=list(by_pk), status=Status.SENDING)
        mine = dict(held.values_list("pk", "claim"))
        rows = []
        for pk, (row, submitted) in by_pk.items():
            if mine.get(pk) != row.claim:
                continue
            row.status, row.claim, row.gateway, row.gateway_id = Status.SENT, "", gateway_name, submitted.gateway_id
            row.segments, row.sent_at, row.last_error = submitted.segments, now, ""
            rows.append(row)
        SmsOutbox.objects.bulk_update(
            rows, ["status", "claim", "gateway", "gateway_id", "segments", "sent_at", "last_error"], batch_size=200
        )
        SmsEvent.objects.bulk_create(
            [SmsEvent(message=row, status=Status.SENT, attempt=row.attempts, detail=row.gateway_id) for row in rows]
        )


def deliver(*, ids: Iterable[int] | None = None, limit: int = 50, fill: bool = False) -> dict[str, int]:
    """Claim and send (these rows, or the due ones; ``fill``: and the oldest others up to
    ``limit``); counts per resulting status. The batch's successes are recorded together after
    its sends; a worker killed in between leaves them ``sending``, to be reconciled."""
    counts: dict[str, int] = {}
    via = gateway()
    sent: list[tuple[SmsOutbox, Submitted]] = []
    for row in claim(ids=ids, limit=limit, fill=fill):
        if _quiet_now(row):
            counts[Status.PENDING] = counts.get(Status.PENDING, 0) + 1
            continue
        try:
            submitted = via.send(OutgoingSms(id=row.pk, phone=row.phone, text=row.text))
        except (GatewayError, GatewayRejected) as exc:
            status = _failed_send(row, exc, via)
        else:
            sent.append((row, submitted))
            status = Status.SENT
        counts[status] = counts.get(status, 0) + 1
    _record_sent_many(sent, via.name)
    return counts


# --- after a crash: rows left in ``sending`` --------------------------------------------------------


def reconcile_stale(*, now: datetime | None = None, via: Gateway | None = None) -> dict[str, int]:
    """Settle the rows left ``sending`` longer than ``SMS_SENDING_STALE_S``: ask the gateway by
    the row's id before anything is resent."""
    now = now or timezone.now()
    via = via or gateway()
    stale = SmsOutbox.objects.filter(
        status=Status.SENDING, claimed_at__lt=now - timedelta(seconds=settings.SMS_SENDING_STALE_S)
    ).order_by("claimed_at")[:200]
    counts = {"sent": 0, "requeued": 0, "unknown": 0, "later": 0}
    for row in stale:
        if not getattr(via, "can_query", False):
            _finish(row, status=Status.FAILED, claim="", last_error="unknown_outcome", _detail="unknown_outcome")
            counts["unknown"] += 1
            continue
        try:
            found = via.query(OutgoingSms(id=row.pk, phone=row.phone, text=row.text))
        except GatewayError as exc:
            if exc.maybe_sent:  # the gateway cannot tell whether it took it: the maintainer decides
                _finish(row, status=Status.FAILED, claim="", last_error="unknown_outcome", _detail="unknown_outcome")
                counts["unknown"] += 1
            else:  # cannot ask now (link down): next sweep
                counts["later"] += 1
            continue
        if found is not None:
            _record_sent(row, found, via.name)
            counts["sent"] += 1
        else:
            _finish(row, status=Status.PENDING, claim="", next_attempt_at=None, _detail="not taken: resend")
            counts["requeued"] += 1
    return counts


# --- receipts -------------------------------------------------------------------------------------


def receipt_record(receipt: Receipt, *, gateway_name: str | None = None) -> bool:
    """A delivery report: the ``sent`` row with that gateway message id becomes ``delivered`` or
    ``failed``. False when no such row is waiting for one (a duplicate report, another system's)."""
    name = gateway_name or gateway().name
    with transaction.atomic():
        row = (
            SmsOutbox.objects.select_for_update()
            .filter(gateway=name, gateway_id=receipt.gateway_id, status=Status.SENT)
            .first()
        )
        if row is None:
            return False
        if receipt.state == "delivered":
            row.status, row.delivered_at = Status.DELIVERED, receipt.at
            row.save(update_fields=["status", "delivered_at"])
        else:
            row.status, row.last_error = Status.FAILED, f"receipt: {receipt.detail}"[:200]
            row.save(update_fields=["status", "last_error"])
        _event(row, row.status, receipt.detail)
    return True


# --- the dead-letter list (maintainer) --------------------------------------------------------------


def requeue(*, message: SmsOutbox, actor: Any, request: Any = None) -> SmsOutbox:
    """Send a failed message again (the maintainer's decision; audited)."""
    with transaction.atomic():
        row = SmsOutbox.objects.select_for_update().get(pk=message.pk)
        if row.status != Status.FAILED:
            from .errors import NotDeadLetter

            raise NotDeadLetter()
        row.status, row.claim, row.next_attempt_at, row.attempts = Status.PENDING, "", None, 0
        row.save(update_fields=["status", "claim", "next_attempt_at", "attempts"])
        _event(row, Status.PENDING, "requeued", actor=actor)
        audit_record(
            actor=actor, action="sms.requeue", obj=row, details={"last_error": row.last_error}, request=request
        )
        transaction.on_commit(lambda: schedule([row.pk]), robust=True)
    return row


def cancel(*, message: SmsOutbox, actor: Any, request: Any = None) -> SmsOutbox:
    """Give a failed message up (audited)."""
    with transaction.atomic():
        row = SmsOutbox.objects.select_for_update().get(pk=message.pk)
        if row.status != Status.FAILED:
            from .errors import NotDeadLetter

            raise NotDeadLetter()
        row.status = Status.CANCELLED
        row.save(update_fields=["status"])
        _event(row, Status.CANCELLED, "cancelled", actor=actor)
        audit_record(actor=actor, action="sms.cancel", obj=row, details={"last_error": row.last_error}, request=request)
    return row


# --- scheduling -----------------------------------------------------------------------------------


def schedule(ids: list[int]) -> None:
    """Hand these rows to the delivery task (after their commit)."""
    from . import tasks  # tasks call this module

    tasks.deliver.delay(ids)


def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Beat's safety net: due ``pending`` rows no task got (a process died after the commit, a row
    the database function wrote, a deferred row now due) are handed to the task in batches — the
    other kinds first, marketing within what its rate per minute leaves; stale ``sending`` rows
    are reconciled."""
    now = now or timezone.now()
    due = SmsOutbox.objects.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now), status=Status.PENDING)
    ids = list(due.exclude(kind=Kind.MARKETING).order_by("created_at").values_list("pk", flat=True)[:1000])
    if len(ids) < 1000:  # then marketing, within what its rate leaves (the other kinds first)
        marketing = list(
            due.filter(kind=Kind.MARKETING).order_by("created_at").values_list("pk", flat=True)[: 1000 - len(ids)]
        )
        if marketing:
            ids += marketing[: policy.marketing_budget(now=now, most=len(marketing))]
    for start in range(0, len(ids), settings.SMS_BATCH):
        schedule(ids[start : start + settings.SMS_BATCH])
    return {"scheduled": len(ids), **reconcile_stale(now=now)}
