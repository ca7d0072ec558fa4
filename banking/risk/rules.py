"""The risk rules: each reads one new event (and what happened before it in its window) and
answers the findings it makes, without writing anything. Thresholds and windows are settings
(``RISK_*``, docs/risk.md); a window ends at the event evaluated, so a rule's answer does not
depend on when the evaluator runs.

``services.risk_evaluate`` feeds the rules each source's new rows and records their findings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Q, Sum

from ..masking import mask_number
from ..models import Account, AccountEvent, LedgerTransaction, Posting
from ..money import fen_to_yuan
from .models import Alert, AlertEvidence, IvrObservation

Rule = Alert.Rule
Source = AlertEvidence.Source
EVIDENCE_MAX = 50  # events listed per finding; the count in the details says how many in all

# Account events that make a transfer soon after them suspicious (on any of the customer's accounts).
CHANGE_KINDS = (
    AccountEvent.Kind.LOSS_REPORTED,
    AccountEvent.Kind.LOSS_CANCELLED,
    AccountEvent.Kind.REGISTERED,
    AccountEvent.Kind.REGISTRATION_UNLOCKED,
    AccountEvent.Kind.SMS_NOTICE_CHANGED,
)


@dataclass(frozen=True)
class Evidence:
    source: str
    source_id: int
    kind: str
    at: datetime
    call_id: str = ""
    customer_id: int | None = None
    account_id: int | None = None
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    rule: str
    dedupe_key: str
    details: dict[str, Any]
    evidence: tuple[Evidence, ...]
    customer_id: int | None = None
    account_id: int | None = None
    call_id: str = ""


def _account_evidence(event: AccountEvent, customer_id: int | None) -> Evidence:
    return Evidence(
        source=Source.ACCOUNT_EVENT,
        source_id=event.pk,
        kind=event.kind,
        at=event.created_at,
        call_id=event.call_id,
        customer_id=customer_id,
        account_id=event.account_id,
        summary={"channel": event.channel, "after": event.after},
    )


def _txn_evidence(txn: LedgerTransaction, *, account_id: int | None, customer_id: int | None) -> Evidence:
    return Evidence(
        source=Source.LEDGER,
        source_id=txn.pk,
        kind=txn.kind,
        at=txn.created_at,
        call_id=txn.call_id,
        customer_id=customer_id,
        account_id=account_id,
        summary={"amount": fen_to_yuan(txn.amount_fen), "channel": txn.channel, "memo": txn.memo[:100]},
    )


def _ivr_evidence(observation: IvrObservation) -> Evidence:
    return Evidence(
        source=Source.IVR,
        source_id=observation.source_id,
        kind=observation.kind,
        at=observation.at,
        call_id=observation.call_id,
        customer_id=observation.customer_id,
        account_id=observation.account_id,
        summary={"phone": observation.ani_masked, "number": observation.number_masked},
    )


# --- account events: password failures and lockouts ------------------------------------------


def account_event_findings(event: AccountEvent, customer_id: int | None) -> list[Finding]:
    if event.kind not in (AccountEvent.Kind.PASSWORD_FAILED, AccountEvent.Kind.REGISTRATION_LOCKED):
        return []
    findings = []
    window = timedelta(minutes=settings.RISK_PASSWORD_WINDOW_MINUTES)
    # A lock is the last of its wrong entries: it counts as a failure too.
    failures = list(
        AccountEvent.objects.filter(
            account_id=event.account_id,
            kind__in=(AccountEvent.Kind.PASSWORD_FAILED, AccountEvent.Kind.REGISTRATION_LOCKED),
            created_at__gt=event.created_at - window,
            created_at__lte=event.created_at,
            pk__lte=event.pk,
        ).order_by("-created_at", "-pk")
    )
    if len(failures) >= settings.RISK_PASSWORD_FAILURES:
        findings.append(
            Finding(
                rule=Rule.PASSWORD_FAILURES,
                dedupe_key=f"{Rule.PASSWORD_FAILURES}:account:{event.account_id}",
                customer_id=customer_id,
                account_id=event.account_id,
                call_id=event.call_id,
                details={
                    "count": len(failures),
                    "threshold": settings.RISK_PASSWORD_FAILURES,
                    "window_minutes": settings.RISK_PASSWORD_WINDOW_MINUTES,
                    "calls": sorted({f.call_id for f in failures if f.call_id})[:20],
                },
                evidence=tuple(_account_evidence(f, customer_id) for f in failures[:EVIDENCE_MAX]),
            )
        )
    if event.kind == AccountEvent.Kind.REGISTRATION_LOCKED:
        lock_window = timedelta(hours=settings.RISK_LOCKOUT_WINDOW_HOURS)
        locks = [f for f in failures if f.kind == AccountEvent.Kind.REGISTRATION_LOCKED]
        if lock_window > window:
            locks = list(
                AccountEvent.objects.filter(
                    account_id=event.account_id,
                    kind=AccountEvent.Kind.REGISTRATION_LOCKED,
                    created_at__gt=event.created_at - lock_window,
                    created_at__lte=event.created_at,
                    pk__lte=event.pk,
                ).order_by("-created_at", "-pk")
            )
        if len(locks) >= settings.RISK_LOCKOUTS:
            findings.append(
                Finding(
                    rule=Rule.LOCKOUTS,
                    dedupe_key=f"{Rule.LOCKOUTS}:account:{event.account_id}",
                    customer_id=customer_id,
                    account_id=event.account_id,
                    call_id=event.call_id,
                    details={
                        "count": len(locks),
                        "threshold": settings.RISK_LOCKOUTS,
                        "window_hours": settings.RISK_LOCKOUT_WINDOW_HOURS,
                    },
                    evidence=tuple(_account_evidence(f, customer_id) for f in locks[:EVIDENCE_MAX]),
                )
            )
    return findings


# --- ledger: transfers and batch credits -----------------------------------------------------


def _legs(txn: LedgerTransaction) -> tuple[Posting | None, Posting | None]:
    """(debit leg, credit leg) of a two-legged transfer."""
    postings = list(txn.postings.all())
    debit = next((p for p in postings if p.amount_fen < 0), None)
    credit = next((p for p in postings if p.amount_fen > 0), None)
    return debit, credit


def transfer_findings(txn: LedgerTransaction, accounts: dict[int, Account]) -> list[Finding]:
    debit, credit = _legs(txn)
    if debit is None:
        return []
    source = accounts[debit.account_id]
    if source.is_internal:
        return []
    target = accounts.get(credit.account_id) if credit is not None else None
    customer_id = source.customer_id
    masked_target = mask_number(target.number, target.kind) if target is not None else ""
    this = _txn_evidence(txn, account_id=source.pk, customer_id=customer_id)
    findings = []

    if txn.amount_fen >= settings.RISK_LARGE_TRANSFER_FEN:
        findings.append(
            Finding(
                rule=Rule.LARGE_TRANSFER,
                dedupe_key=f"{Rule.LARGE_TRANSFER}:account:{source.pk}",
                customer_id=customer_id,
                account_id=source.pk,
                call_id=txn.call_id,
                details={
                    "amount": fen_to_yuan(txn.amount_fen),
                    "threshold": fen_to_yuan(settings.RISK_LARGE_TRANSFER_FEN),
                    "to": masked_target,
                    "channel": txn.channel,
                },
                evidence=(this,),
            )
        )

    window = timedelta(minutes=settings.RISK_TRANSFER_BURST_MINUTES)
    recent = list(
        LedgerTransaction.objects.filter(
            kind=LedgerTransaction.Kind.TRANSFER,
            postings__account_id=source.pk,
            postings__amount_fen__lt=0,
            created_at__gt=txn.created_at - window,
            created_at__lte=txn.created_at,
            pk__lte=txn.pk,
        ).order_by("-created_at", "-pk")
    )
    if len(recent) >= settings.RISK_TRANSFER_BURST_COUNT:
        findings.append(
            Finding(
                rule=Rule.TRANSFER_BURST,
                dedupe_key=f"{Rule.TRANSFER_BURST}:account:{source.pk}",
                customer_id=customer_id,
                account_id=source.pk,
                call_id=txn.call_id,
                details={
                    "count": len(recent),
                    "total": fen_to_yuan(sum(t.amount_fen for t in recent)),
                    "threshold": settings.RISK_TRANSFER_BURST_COUNT,
                    "window_minutes": settings.RISK_TRANSFER_BURST_MINUTES,
                },
                evidence=tuple(
                    _txn_evidence(t, account_id=source.pk, customer_id=customer_id) for t in recent[:EVIDENCE_MAX]
                ),
            )
        )

    change_window = timedelta(hours=settings.RISK_TRANSFER_AFTER_CHANGE_HOURS)
    since = txn.created_at - change_window
    # Not a change: what was done while the account was being set up (opened, registered, linked
    # and subscribed at the counter in one visit, or by a data load).
    setup = timedelta(minutes=settings.RISK_ACCOUNT_SETUP_MINUTES)
    changes = AccountEvent.objects.filter(created_at__gt=since, created_at__lte=txn.created_at).exclude(
        created_at__lte=F("account__opened_at") + setup
    )
    own_changes = changes.filter(kind__in=CHANGE_KINDS)
    own_changes = (
        own_changes.filter(account__customer_id=customer_id)
        if customer_id is not None
        else own_changes.filter(account_id=source.pk)
    )
    found = list(own_changes.order_by("-created_at", "-pk")[:EVIDENCE_MAX])
    if target is not None:
        found += list(
            changes.filter(kind=AccountEvent.Kind.LINKED, account_id=target.pk).order_by("-created_at", "-pk")[:5]
        )
    if found:
        findings.append(
            Finding(
                rule=Rule.TRANSFER_AFTER_CHANGE,
                dedupe_key=f"{Rule.TRANSFER_AFTER_CHANGE}:account:{source.pk}",
                customer_id=customer_id,
                account_id=source.pk,
                call_id=txn.call_id,
                details={
                    "amount": fen_to_yuan(txn.amount_fen),
                    "to": masked_target,
                    "changes": sorted({str(e.kind) for e in found}),
                    "window_hours": settings.RISK_TRANSFER_AFTER_CHANGE_HOURS,
                },
                evidence=(this, *(_account_evidence(e, customer_id) for e in found)),
            )
        )
    return findings


def is_batch(txn: LedgerTransaction) -> bool:
    return txn.kind == LedgerTransaction.Kind.BATCH_CREDIT or txn.channel == LedgerTransaction.Channel.BATCH


def batch_findings(txns: Iterable[LedgerTransaction], accounts: dict[int, Account]) -> list[Finding]:
    """Batch credits, grouped by the account credited: one look-back per account per scan."""
    latest: dict[int, LedgerTransaction] = {}
    for txn in txns:
        for posting in txn.postings.all():
            account = accounts.get(posting.account_id)
            if posting.amount_fen > 0 and account is not None and not account.is_internal:
                latest[account.pk] = txn
    findings = []
    window = timedelta(days=settings.RISK_BATCH_WINDOW_DAYS)
    for account_id, txn in latest.items():
        credits = Posting.objects.filter(
            Q(transaction__kind=LedgerTransaction.Kind.BATCH_CREDIT)
            | Q(transaction__channel=LedgerTransaction.Channel.BATCH),
            account_id=account_id,
            amount_fen__gt=0,
            transaction__pk__lte=txn.pk,
            created_at__gt=txn.created_at - window,
            created_at__lte=txn.created_at,
        )
        totals = credits.aggregate(total=Sum("amount_fen"), items=Count("id"))
        total, items = totals["total"] or 0, totals["items"] or 0
        if total < settings.RISK_BATCH_ACCOUNT_FEN and items < settings.RISK_BATCH_ACCOUNT_ITEMS:
            continue
        account = accounts[account_id]
        rows = list(credits.select_related("transaction").order_by("-created_at", "-id")[:EVIDENCE_MAX])
        findings.append(
            Finding(
                rule=Rule.BATCH_CONCENTRATION,
                dedupe_key=f"{Rule.BATCH_CONCENTRATION}:account:{account_id}",
                customer_id=account.customer_id,
                account_id=account_id,
                details={
                    "count": items,
                    "total": fen_to_yuan(total),
                    "threshold_total": fen_to_yuan(settings.RISK_BATCH_ACCOUNT_FEN),
                    "threshold_items": settings.RISK_BATCH_ACCOUNT_ITEMS,
                    "window_days": settings.RISK_BATCH_WINDOW_DAYS,
                },
                evidence=tuple(
                    _txn_evidence(p.transaction, account_id=account_id, customer_id=account.customer_id) for p in rows
                ),
            )
        )
    return findings


# --- the IVR: numbers tried from one phone, balances asked from many ---------------------------


def ivr_findings(observation: IvrObservation) -> list[Finding]:
    if observation.kind == IvrObservation.Kind.NUMBER_ENTERED and observation.ani_key:
        window = timedelta(minutes=settings.RISK_IVR_NUMBERS_WINDOW_MINUTES)
        tries = list(
            IvrObservation.objects.filter(
                kind=observation.kind,
                ani_key=observation.ani_key,
                at__gt=observation.at - window,
                at__lte=observation.at,
                source_id__lte=observation.source_id,
            ).order_by("-at", "-source_id")
        )
        numbers = {t.number_key for t in tries}
        if len(numbers) >= settings.RISK_IVR_NUMBERS_PER_PHONE:
            return [
                Finding(
                    rule=Rule.IVR_CARD_PROBING,
                    dedupe_key=f"{Rule.IVR_CARD_PROBING}:phone:{observation.ani_key[:32]}",
                    customer_id=None,
                    call_id=observation.call_id,
                    details={
                        "phone": observation.ani_masked,
                        "numbers": len(numbers),
                        "tries": len(tries),
                        "calls": len({t.call_id for t in tries}),
                        "threshold": settings.RISK_IVR_NUMBERS_PER_PHONE,
                        "window_minutes": settings.RISK_IVR_NUMBERS_WINDOW_MINUTES,
                    },
                    evidence=tuple(_ivr_evidence(t) for t in tries[:EVIDENCE_MAX]),
                )
            ]
    if observation.kind == IvrObservation.Kind.BALANCE_QUERY and observation.account_id is not None:
        window = timedelta(hours=settings.RISK_BALANCE_WINDOW_HOURS)
        queries = list(
            IvrObservation.objects.filter(
                kind=observation.kind,
                account_id=observation.account_id,
                at__gt=observation.at - window,
                at__lte=observation.at,
                source_id__lte=observation.source_id,
            )
            .exclude(ani_key="")
            .order_by("-at", "-source_id")
        )
        phones = {q.ani_key for q in queries}
        if len(phones) >= settings.RISK_BALANCE_PHONES:
            return [
                Finding(
                    rule=Rule.BALANCE_MANY_PHONES,
                    dedupe_key=f"{Rule.BALANCE_MANY_PHONES}:account:{observation.account_id}",
                    customer_id=observation.customer_id,
                    account_id=observation.account_id,
                    call_id=observation.call_id,
                    details={
                        "phones": len(phones),
                        "queries": len(queries),
                        "threshold": settings.RISK_BALANCE_PHONES,
                        "window_hours": settings.RISK_BALANCE_WINDOW_HOURS,
                    },
                    evidence=tuple(_ivr_evidence(q) for q in queries[:EVIDENCE_MAX]),
                )
            ]
    return []
