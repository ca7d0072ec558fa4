"""Risk monitoring's writes: the evaluator that runs the rules over new events, and the alert
workflow (raise, assign, comment, escalate, close).

**Exactly once.** Each source (banking's account events, the ledger's transactions, the IVR's
event log through ``ivr_port``) has a watermark row. One evaluator at a time holds it
(``SELECT … FOR UPDATE SKIP LOCKED``: a second worker skips the source instead of waiting), reads
the rows with a higher id in id order, runs the rules, records their alerts and moves the
watermark in the same transaction: a crash rolls back both, so every row is evaluated once.

**None lost.** Ids are handed out before commit, so a row with a lower id can still be committing
when a higher one is read. The watermark moves only over consecutive ids; a hole (a transaction
still open, or one rolled back) holds it until the row after the hole is ``RISK_GAP_SETTLE_SECONDS``
old, and is then passed as a rollback. On its first run a source starts at the highest id handed
out so far: history is not evaluated.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.services import audit_record
from core.errors import Conflict, Forbidden, NotFound

from .. import call_port
from ..masking import mask_query
from ..models import Account, AccountEvent, Customer, LedgerTransaction
from . import ivr_port, policy, rules
from .models import Alert, AlertEvidence, AlertLog, IvrObservation, Watermark

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

Actor = AbstractBaseUser | AnonymousUser | None

ACCOUNT_EVENTS = "account_events"
LEDGER = "ledger"
IVR = "ivr"
SOURCES = (ACCOUNT_EVENTS, LEDGER, IVR)
OPEN_STATUSES = (Alert.Status.OPEN, Alert.Status.ASSIGNED, Alert.Status.ESCALATED)
MAX_BATCHES_PER_RUN = 50  # a run stops after this many batches per source; the next picks up


# --- keys and masks ---------------------------------------------------------------------------


def _digest(value: str) -> str:
    """Keyed digest of a number (a phone, a card tried): counts distinct ones without keeping them."""
    key = (getattr(settings, "BANKING_ID_DIGEST_KEY", "") or settings.SECRET_KEY).encode()
    return hmac.new(key, b"risk:" + value.encode(), hashlib.sha256).hexdigest()


_URI_SCHEME = re.compile(r"^(tel|sip|sips):", re.IGNORECASE)


def normalize_phone(ani: str) -> str:
    """A caller number as the switch sent it (``tel:+8613800000001``, ``sip:138…@host``) reduced to
    its digits, without the country code, so one phone is one key."""
    value = _URI_SCHEME.sub("", str(ani or "").strip()).split("@", 1)[0].split(";", 1)[0]
    digits = "".join(ch for ch in value if ch.isdigit())
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


# --- the evaluator ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    id: int
    at: datetime
    item: Any


def _start_id(source: str) -> int:
    if source == ACCOUNT_EVENTS:
        return ivr_port.allocated_max_id(AccountEvent)
    if source == LEDGER:
        return ivr_port.allocated_max_id(LedgerTransaction)
    return ivr_port.latest_id()


def watermarks_ensure() -> None:
    """Create the missing watermark rows, each starting at its source's latest id (idempotent;
    two processes at once are fine: the loser's insert is ignored)."""
    missing = set(SOURCES) - set(Watermark.objects.values_list("source", flat=True))
    if missing:
        Watermark.objects.bulk_create(
            [Watermark(source=source, last_id=_start_id(source)) for source in sorted(missing)], ignore_conflicts=True
        )


def _lock_watermark(source: str) -> Watermark | None:
    """The source's watermark, locked; ``None`` while another evaluator holds it."""
    query = Watermark.objects.filter(source=source)
    if connection.features.has_select_for_update_skip_locked:
        query = query.select_for_update(skip_locked=True)
    return query.first()


def settled_prefix(rows: Sequence[_Row], last_id: int, now: datetime) -> int:
    """How many of ``rows`` (ascending ids after ``last_id``) can be evaluated now: up to the first
    hole in the ids whose next row is younger than ``RISK_GAP_SETTLE_SECONDS``."""
    settle = timedelta(seconds=settings.RISK_GAP_SETTLE_SECONDS)
    expected, taken = last_id + 1, 0
    for row in rows:
        if row.id != expected and row.at > now - settle:
            break
        expected, taken = row.id + 1, taken + 1
    return taken


def _account_event_rows(last_id: int, limit: int) -> list[_Row]:
    events = AccountEvent.objects.filter(pk__gt=last_id).select_related("account").order_by("pk")[:limit]
    return [_Row(event.pk, event.created_at, event) for event in events]


def _ledger_rows(last_id: int, limit: int) -> list[_Row]:
    txns = LedgerTransaction.objects.filter(pk__gt=last_id).prefetch_related("postings").order_by("pk")[:limit]
    return [_Row(txn.pk, txn.created_at, txn) for txn in txns]


def _ivr_rows(last_id: int, limit: int) -> list[_Row]:
    return [_Row(activity.event_id, activity.at, activity) for activity in ivr_port.activity_after(last_id, limit)]


def _account_event_findings(rows: Sequence[_Row]) -> list[rules.Finding]:
    findings = []
    for row in rows:
        event: AccountEvent = row.item
        findings += rules.account_event_findings(event, event.account.customer_id)
    return findings


def _ledger_findings(rows: Sequence[_Row]) -> list[rules.Finding]:
    txns: list[LedgerTransaction] = [row.item for row in rows]
    if not any(txn.kind == LedgerTransaction.Kind.TRANSFER or rules.is_batch(txn) for txn in txns):
        return []  # openings, card activity: nothing for the rules, no account read
    accounts = Account.objects.in_bulk({p.account_id for txn in txns for p in txn.postings.all()})
    findings = []
    for txn in txns:
        if txn.kind == LedgerTransaction.Kind.TRANSFER and not rules.is_batch(txn):
            findings += rules.transfer_findings(txn, accounts)
    findings += rules.batch_findings([txn for txn in txns if rules.is_batch(txn)], accounts)
    return findings


def _observation(activity: ivr_port.IvrActivity) -> IvrObservation | None:
    if activity.kind not in (ivr_port.NUMBER_ENTERED, ivr_port.BALANCE_QUERY):
        return None
    phone = normalize_phone(activity.ani)
    account: Account | None = None
    number_key = number_masked = ""
    if activity.kind == ivr_port.NUMBER_ENTERED:
        number_key, number_masked = _digest(activity.digits), mask_query(activity.digits)
        account = Account.objects.filter(number=activity.digits).first()
    elif activity.account_id is not None:
        account = Account.objects.filter(pk=activity.account_id).first()
    return IvrObservation(
        source_id=activity.event_id,
        kind=activity.kind,
        at=activity.at,
        call_id=activity.call_id[:128],
        ani_key=_digest(phone) if phone else "",
        ani_masked=mask_query(phone) if phone else "",
        number_key=number_key,
        number_masked=number_masked[:40],
        account=account,
        customer_id=account.customer_id if account is not None else None,
    )


def _ivr_findings(rows: Sequence[_Row]) -> list[rules.Finding]:
    observations = [obs for obs in (_observation(row.item) for row in rows) if obs is not None]
    if not observations:
        return []
    # All of the batch first (the rules' windows read them), ignoring ones already there.
    IvrObservation.objects.bulk_create(observations, ignore_conflicts=True)
    stored = IvrObservation.objects.filter(source_id__in=[obs.source_id for obs in observations]).order_by("source_id")
    findings = []
    for observation in stored:
        findings += rules.ivr_findings(observation)
    return findings


_SOURCES: dict[str, tuple[Callable[[int, int], list[_Row]], Callable[[Sequence[_Row]], list[rules.Finding]]]] = {
    ACCOUNT_EVENTS: (_account_event_rows, _account_event_findings),
    LEDGER: (_ledger_rows, _ledger_findings),
    IVR: (_ivr_rows, _ivr_findings),
}


@transaction.atomic
def _evaluate_batch(source: str) -> tuple[int, bool]:
    """One batch of ``source``: (rows evaluated, whether more may be waiting)."""
    mark = _lock_watermark(source)
    if mark is None:
        return 0, False
    fetch, evaluate = _SOURCES[source]
    limit = settings.RISK_SCAN_BATCH
    rows = fetch(mark.last_id, limit)
    taken = settled_prefix(rows, mark.last_id, timezone.now())
    batch = rows[:taken]
    if not batch:
        return 0, False
    for finding in evaluate(batch):
        alert_record(finding)
    mark.last_id, mark.updated_at = batch[-1].id, timezone.now()
    mark.save(update_fields=["last_id", "updated_at"])
    return len(batch), len(rows) == limit and taken == len(rows)


def risk_evaluate(*, sources: Sequence[str] = SOURCES) -> dict[str, int]:
    """Run the rules over every source's new rows; ``{source: rows evaluated}``. Safe to run from
    several workers at once (each source has one evaluator at a time)."""
    watermarks_ensure()
    done: dict[str, int] = {}
    for source in sources:
        done[source] = 0
        for _batch in range(MAX_BATCHES_PER_RUN):
            count, more = _evaluate_batch(source)
            done[source] += count
            if not more:
                break
    return done


# --- alerts -----------------------------------------------------------------------------------


def _user(actor: Actor) -> User | None:
    """The signed-in staff member behind ``actor``; ``None`` for the rules (or anonymous)."""
    return cast("User", actor) if actor is not None and getattr(actor, "is_authenticated", False) else None


def _log(
    alert: Alert,
    action: str,
    *,
    actor: Actor = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str = "",
) -> AlertLog:
    user = _user(actor)
    entry = AlertLog.objects.create(
        alert=alert, action=action, actor=user, before=before or {}, after=after or {}, note=note
    )
    audit_record(
        actor=user,
        action=f"risk.alert_{action}",
        obj=alert,
        object_type="risk_alert",
        details={"rule": alert.rule, "before": before or {}, "after": after or {}, "note": note[:500]},
    )
    return entry


def _evidence_rows(alert: Alert, evidence: Sequence[rules.Evidence]) -> int:
    rows = [
        AlertEvidence(
            alert=alert,
            source=e.source,
            source_id=e.source_id,
            kind=e.kind,
            at=e.at,
            call_id=e.call_id[:128],
            customer_id=e.customer_id,
            account_id=e.account_id,
            summary=e.summary,
        )
        for e in evidence
    ]
    before = AlertEvidence.objects.filter(alert=alert).count()
    AlertEvidence.objects.bulk_create(rows, ignore_conflicts=True)
    return AlertEvidence.objects.filter(alert=alert).count() - before


def alert_record(finding: rules.Finding, *, actor: Actor = None) -> Alert:
    """Open an alert for ``finding``, or — when one is open for the same pattern — add the new
    evidence to it (one open alert per pattern, held by a partial unique index). In the caller's
    transaction."""
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update().filter(dedupe_key=finding.dedupe_key, status__in=OPEN_STATUSES).first()
        )
        created = False
        if alert is None:
            user = _user(actor)
            latest = max((e.at for e in finding.evidence), default=timezone.now())
            try:
                with transaction.atomic():
                    alert = Alert.objects.create(
                        rule=finding.rule,
                        dedupe_key=finding.dedupe_key,
                        customer_id=finding.customer_id,
                        account_id=finding.account_id,
                        call_id=finding.call_id[:128],
                        details=finding.details,
                        raised_by=user,
                        last_seen_at=latest,
                    )
                created = True
            except IntegrityError:  # opened by another transaction just now
                alert = Alert.objects.select_for_update().get(dedupe_key=finding.dedupe_key, status__in=OPEN_STATUSES)
        if created:
            _evidence_rows(alert, finding.evidence)
            _log(alert, AlertLog.Action.RAISED, actor=actor, after={"details": finding.details})
            logger.info("risk alert %s raised: %s", alert.pk, alert.rule)
            return alert
        added = _evidence_rows(alert, finding.evidence)
        alert.hits += 1
        alert.details = finding.details
        alert.last_seen_at = max([alert.last_seen_at, *(e.at for e in finding.evidence)])
        alert.save(update_fields=["hits", "details", "last_seen_at"])
        logger.info("risk alert %s seen again (%d new evidence)", alert.pk, added)
        return alert


def _locked(alert: Alert) -> Alert:
    found = Alert.objects.select_for_update().filter(pk=alert.pk).first()
    if found is None:
        raise NotFound()
    return found


def _require(allowed: bool) -> None:
    if not allowed:
        raise Forbidden()


@transaction.atomic
def alert_assign(*, alert: Alert, actor: Actor, assignee: AbstractBaseUser) -> Alert:
    """Give the alert to a risk officer or the director (an escalated alert stays escalated)."""
    _require(policy.can_work(actor))
    locked = _locked(alert)
    if locked.is_closed:
        raise Conflict(_("The alert is closed."), code="alert_closed")
    if not policy.can_work(assignee):
        raise Conflict(_("Alerts are assigned to a risk officer or the director."), code="bad_assignee")
    before = {"status": locked.status, "assignee": locked.assignee_id}
    locked.assignee_id = assignee.pk
    if locked.status == Alert.Status.OPEN:
        locked.status = Alert.Status.ASSIGNED
    locked.save(update_fields=["assignee", "status"])
    _log(
        locked,
        AlertLog.Action.ASSIGNED,
        actor=actor,
        before=before,
        after={"status": locked.status, "assignee": assignee.pk},
    )
    return locked


@transaction.atomic
def alert_comment(*, alert: Alert, actor: Actor, note: str) -> AlertLog:
    _require(policy.can_work(actor))
    note = (note or "").strip()
    if not note:
        raise Conflict(_("Write a comment."), code="empty_comment")
    locked = _locked(alert)
    return _log(locked, AlertLog.Action.COMMENTED, actor=actor, note=note[:2000])


@transaction.atomic
def alert_escalate(*, alert: Alert, actor: Actor, note: str = "") -> Alert:
    """Hand the alert up (to the director): open or assigned → escalated."""
    _require(policy.can_work(actor))
    locked = _locked(alert)
    if locked.status not in (Alert.Status.OPEN, Alert.Status.ASSIGNED):
        raise Conflict(_("Only an open or assigned alert can be escalated."), code="not_escalatable")
    before = {"status": locked.status}
    locked.status = Alert.Status.ESCALATED
    locked.save(update_fields=["status"])
    _log(
        locked, AlertLog.Action.ESCALATED, actor=actor, before=before, after={"status": locked.status}, note=note[:2000]
    )
    return locked


@transaction.atomic
def alert_close(*, alert: Alert, actor: Actor, outcome: str, note: str = "") -> Alert:
    """Close with an outcome: a false positive, or reported to the department."""
    _require(policy.can_work(actor))
    if outcome not in Alert.Outcome.values:
        raise Conflict(_("Choose an outcome."), code="bad_outcome")
    locked = _locked(alert)
    if locked.is_closed:
        raise Conflict(_("The alert is closed."), code="alert_closed")
    before = {"status": locked.status}
    locked.status, locked.outcome, locked.closed_at = Alert.Status.CLOSED, outcome, timezone.now()
    locked.save(update_fields=["status", "outcome", "closed_at"])
    _log(
        locked,
        AlertLog.Action.CLOSED,
        actor=actor,
        before=before,
        after={"status": locked.status, "outcome": outcome},
        note=note[:2000],
    )
    return locked


@transaction.atomic
def alert_report(*, actor: Actor, call_id: str, note: str, customer_id: int | None = None) -> Alert:
    """An agent raises an alert on the call they hold (rule ``agent_report``): the caller is the
    customer identified on the call, else the one the agent names. Reported twice on one call,
    it is one alert."""
    _require(policy.can_raise(actor))
    facts = call_port.call_facts(call_id)
    if facts is None:
        raise NotFound(_("No such call."), code="call_not_found")
    if facts.agent_id != getattr(actor, "pk", None) or not facts.in_hand:
        raise Forbidden(_("This call is not yours."), code="not_your_call")
    note = (note or "").strip()
    if not note:
        raise Conflict(_("Say what you noticed."), code="empty_note")
    customer = facts.customer_id or customer_id
    if customer is not None and not Customer.objects.filter(pk=customer).exists():
        raise NotFound(_("No such customer."), code="customer_not_found")
    record = audit_record(
        actor=actor,
        action="risk.agent_report",
        object_type="call",
        object_id=call_id,
        details={"customer": customer, "note": note[:500], "test_call": facts.is_test},
    )
    username = actor.get_username() if actor is not None and hasattr(actor, "get_username") else ""
    finding = rules.Finding(
        rule=Alert.Rule.AGENT_REPORT,
        dedupe_key=f"{Alert.Rule.AGENT_REPORT}:call:{call_id[:128]}",
        customer_id=customer,
        call_id=call_id,
        details={"note": note[:500], "agent": username, "call_id": call_id[:128], "test_call": facts.is_test},
        evidence=(
            rules.Evidence(
                source=AlertEvidence.Source.AGENT,
                source_id=record.pk,
                kind="agent_report",
                at=record.created_at,
                call_id=call_id,
                customer_id=customer,
                summary={"agent": username, "note": note[:500]},
            ),
        ),
    )
    return alert_record(finding, actor=actor)
