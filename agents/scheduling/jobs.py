"""Asking for a roster: ``services.roster_create`` and the solve's Celery task, scheduled after
the commit. Here rather than in ``services``, which the task calls: no module imports the other
back."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction

from agents.tasks import roster_solve

from . import services

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from .models import Roster


def roster_request(*, start: date, days: int, actor: User) -> Roster:
    with transaction.atomic():
        roster = services.roster_create(start=start, days=days, actor=actor)
        transaction.on_commit(lambda: roster_solve.delay(roster.pk))
    return roster
