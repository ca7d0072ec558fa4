"""The revisit feed (issue 19): work orders closed in the last day and open work-order callbacks
(回访) become contacts of every running revisit campaign, by themselves.

The beat job ``outbound.feed_revisits`` runs ``feed_revisit_campaigns`` every 10 minutes; it reads
``tickets.selectors.revisit_candidates`` (the tickets app's read, no table of theirs named here)
and adds each one with ``services.contact_add``, which is idempotent by ``source_ref``
(``ticket:<id>``, ``ticket-callback:<id>``) and by the number (one contact per number per
campaign): running it twice, or with overlapping windows, adds nothing twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from . import errors, selectors, services
from .models import CampaignKind, ContactSource

logger = logging.getLogger(__name__)

LOOKBACK = timedelta(days=1)


def feed_revisit_campaigns(*, now: datetime | None = None, lookback: timedelta = LOOKBACK) -> dict[str, int]:
    """Feed the work orders closed (and callbacks opened) in the ``lookback`` before ``now``
    → ``{"campaigns", "candidates", "added", "skipped"}``."""
    from tickets.selectors import revisit_candidates

    now = now or timezone.now()
    campaigns = list(selectors.running_campaigns(kind=CampaignKind.REVISIT))
    counts = {"campaigns": len(campaigns), "candidates": 0, "added": 0, "skipped": 0}
    if not campaigns:
        return counts
    candidates = revisit_candidates(since=now - lookback, until=now)
    counts["candidates"] = len(candidates)
    for campaign in campaigns:
        for row in candidates:
            try:
                _contact, created = services.contact_add(
                    campaign=campaign,
                    phone=row["phone"],
                    name=row["name"],
                    customer_id=row["customer_id"],
                    source=ContactSource.TICKET if row["kind"] == "ticket" else ContactSource.CALLBACK,
                    source_ref=row["ref"],
                    data={"ticket": row["ticket"]},
                )
            except errors.InvalidPhone:
                counts["skipped"] += 1
                continue
            counts["added" if created else "skipped"] += 1
    if counts["added"]:
        logger.info("revisit feed: %s", counts)
    return counts
