"""Progressive pacing and blending (issue 19, docs/cti.md "The switch contract"):
``progressive_pass`` gives every ready agent of a running progressive campaign (seated at their
desktop, with no inbound call waiting for them) the next eligible contact, reserving the agent
(``reservations``); it runs after every routing pass (``progressive_after_routing``, from
``calls.dispatch``) and in the sweep. A *blended* campaign gives no new dial while the inbound
service level of its queue over the last ``OUTBOUND_BLEND_WINDOW_S`` is below
``OUTBOUND_BLEND_MIN_SL`` (``blend_blocked``, checked by the preview dials too).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from agents import presence
from agents.locks import lock_agents
from agents.models import AgentSkill, AgentState, AgentStatus
from core.db import retry_on_conflict

from ..models import Call, CallState, Queue
from .commands import setting
from .models import Campaign, CampaignStatus, DialAttempt, DialMode
from .reservations import (
    CAMPAIGN_WIDE,
    CONTACTS_TRIED_PER_DIAL,
    _agent_free,
    _check,
    _dial_locked,
    _next_contact,
    _refused,
)

logger = logging.getLogger(__name__)
_local = threading.local()


# --- blending -------------------------------------------------------------------------------------


def inbound_service_level(queue_id: int, *, now: datetime | None = None) -> float | None:
    """Share of the inbound calls of ``queue_id`` queued in the last ``OUTBOUND_BLEND_WINDOW_S``
    whose wait was at most ``CALLS_SERVICE_LEVEL_T_S`` (answered in time / answered + abandoned
    after ``CALLS_SHORT_ABANDON_S`` + still waiting beyond T). None below
    ``OUTBOUND_BLEND_MIN_CALLS`` calls (too few to judge: outbound goes on)."""
    from django.conf import settings

    now = now or timezone.now()
    since = now - timedelta(seconds=float(setting("OUTBOUND_BLEND_WINDOW_S", 900)))
    t = timedelta(seconds=settings.CALLS_SERVICE_LEVEL_T_S)
    short = timedelta(seconds=settings.CALLS_SHORT_ABANDON_S)
    met = counted = 0
    rows = Call.objects.filter(
        direction="inbound", is_test=False, queued_at__gte=since, queued_at__lte=now, service_queue_id=queue_id
    ).values_list("queued_at", "answered_at", "ended_at")
    for queued_at, answered_at, ended_at in rows:
        if queued_at is None:  # filtered out: queued_at__gte
            continue
        if answered_at is not None:
            counted += 1
            met += int(answered_at - queued_at <= t)
        elif ended_at is not None:
            counted += int(ended_at - queued_at > short)
        elif now - queued_at > t:
            counted += 1
    if counted < int(setting("OUTBOUND_BLEND_MIN_CALLS", 5)):
        return None
    return met / counted


def blend_blocked(campaign: Campaign, *, now: datetime | None = None, cache: dict[int, bool] | None = None) -> bool:
    """A blended campaign gives no new dial while its queue's inbound service level is low."""
    if not campaign.blended:
        return False
    if cache is not None and campaign.queue_id in cache:
        return cache[campaign.queue_id]
    level = inbound_service_level(campaign.queue_id, now=now)
    blocked = level is not None and level < float(setting("OUTBOUND_BLEND_MIN_SL", 0.8))
    if cache is not None:
        cache[campaign.queue_id] = blocked
    return blocked


# --- progressive ----------------------------------------------------------------------------------


@retry_on_conflict
def _progressive_one(campaign_pk: int, status_pk: int, now: datetime) -> tuple[DialAttempt | None, bool]:
    """One progressive dial for one agent → (attempt, campaign still has dialable contacts)."""
    try:
        with transaction.atomic():
            campaign = Campaign.objects.select_related("queue").get(pk=campaign_pk)
            for _try in range(CONTACTS_TRIED_PER_DIAL):
                contact = _next_contact(campaign, now=now)
                if contact is None:
                    return None, False
                contact.campaign = campaign
                decision = _check(contact, now=now)
                if not decision.allowed:
                    if decision.code in CAMPAIGN_WIDE:
                        return None, False
                    _refused(contact, decision, now=now)
                    continue
                status = lock_agents(status_pk).get(status_pk)
                if not _agent_free(status, allow_not_ready=False):
                    return None, True
                assert status is not None
                return _dial_locked(
                    contact=contact, status=status, mode=DialMode.PROGRESSIVE, decision=decision, now=now
                ), True
            return None, True
    except IntegrityError:
        # The agent got another live dial meanwhile (one live dial per agent, in the database).
        return None, True


def progressive_pass(now: datetime | None = None) -> int:
    """Dial for every ready agent of a running progressive campaign for whom no inbound call is
    waiting (inbound keeps priority: the router ran first). Returns the dials made."""
    now = now or timezone.now()
    campaigns = list(
        Campaign.objects.filter(status=CampaignStatus.RUNNING, mode=DialMode.PROGRESSIVE)
        .select_related("queue")
        .order_by("pk")
    )
    if not campaigns:
        return 0
    ready = list(
        AgentStatus.objects.filter(state=AgentState.READY, call__isnull=True)
        .order_by("ready_since", "pk")
        .values_list("pk", "user_id")
    )
    if not ready:
        return 0
    seated = presence.connected(user_id for _pk, user_id in ready)
    ready = [(pk, user_id) for pk, user_id in ready if user_id in seated]
    if not ready:
        return 0
    minimum = dict(Queue.objects.filter(is_active=True).values_list("pk", "min_skill_level"))
    skills: dict[int, set[int]] = {}
    for agent_id, queue_id, level in AgentSkill.objects.filter(agent_id__in=[u for _p, u in ready]).values_list(
        "agent_id", "queue_id", "level"
    ):
        if queue_id in minimum and level >= minimum[queue_id]:
            skills.setdefault(agent_id, set()).add(queue_id)
    horizon = now - timedelta(seconds=float(setting("CALLS_ROUTE_MAX_AGE_S", 3600)))
    waiting: set[int] = set()
    for queue_id, entry_id in Call.objects.filter(state=CallState.QUEUED, queued_at__gte=horizon).values_list(
        "queue_id", "entry_queue_id"
    ):
        waiting.update(q for q in (queue_id, entry_id) if q is not None)
    blocked: dict[int, bool] = {}
    exhausted: set[int] = set()
    made = 0
    for status_pk, user_id in ready:
        queues = skills.get(user_id, set())
        if queues & waiting:
            continue  # an inbound call waits for this agent: the router rings them
        for campaign in campaigns:
            if campaign.pk in exhausted or campaign.queue_id not in queues:
                continue
            if blend_blocked(campaign, now=now, cache=blocked):
                continue
            attempt, more = _progressive_one(campaign.pk, status_pk, now)
            if not more:
                exhausted.add(campaign.pk)
            if attempt is not None:
                made += 1
                break
    return made


def progressive_after_routing() -> None:
    """After a routing pass requested on commit (``calls.dispatch.on_routing_requested``: the
    router has offered the waiting calls first): agents still ready get progressive dials. Not
    re-entered from the commits of its own dials."""
    if getattr(_local, "dialing", False):
        return
    _local.dialing = True
    try:
        progressive_pass()
    except Exception:
        logger.exception("progressive pass failed")
    finally:
        _local.dialing = False
