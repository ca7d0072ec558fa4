"""``python manage.py reports_rebuild --from YYYY-MM-DD --to YYYY-MM-DD``: recompute every rollup
of those local dates (inclusive) from the calls, the agents' state log and the IVR calls — after
a bulk load, a restore, or to repair an interval a lost mark left stale. A day per transaction;
safe while the center runs (each interval is locked while it is replaced)."""

from __future__ import annotations

import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from reports.rollups import rebuild

MAX_DAYS = 3660


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--{name}: a date as YYYY-MM-DD, not {value!r}") from None


class Command(BaseCommand):
    help = "Recompute the reports' rollups for a range of local dates."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="date_from", required=True, help="first local date, YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", required=True, help="last local date, YYYY-MM-DD (inclusive)")

    def handle(self, *args, date_from: str, date_to: str, **options):
        first, last = _date(date_from, "from"), _date(date_to, "to")
        if last < first:
            raise CommandError("--to is before --from")
        if (last - first).days >= MAX_DAYS:
            raise CommandError(f"at most {MAX_DAYS} days at a time")
        started = time.perf_counter()
        done = rebuild(first, last)
        self.stdout.write(
            f"Rollups rebuilt for {done['days']} days ({first}–{last}): {done['call_intervals']} call rows, "
            f"{done['agent_intervals']} agent-state rows, {done['ivr_intervals']} IVR rows "
            f"in {time.perf_counter() - started:.1f} s."
        )
