"""Who may do what with a settlement batch (DESIGN.md §2 roles): one function per question, used by
the services, the API and the pages alike.

Maker–checker: the analyst (综合员, who produces the center's reports and handles the
mis-posting and refund work orders) or the director uploads; the director approves or rejects,
never a batch they uploaded themselves. The monthly POS prize batch is uploaded by the system
(no uploader), so the director approves it. Running an approved batch is mechanical (the checker
has already decided what posts): the analyst or the director starts it. The risk officer reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from org.permissions import has_role
from org.roles import Role

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

    from .models import Batch

UPLOADERS = (Role.ANALYST, Role.DIRECTOR)
APPROVERS = (Role.DIRECTOR,)
RUNNERS = (Role.ANALYST, Role.DIRECTOR)
READERS = (Role.ANALYST, Role.DIRECTOR, Role.RISK_OFFICER)


def can_read(user) -> bool:
    return has_role(user, READERS)


def can_upload(user) -> bool:
    return has_role(user, UPLOADERS)


def can_run(user) -> bool:
    return has_role(user, RUNNERS)


def decide_refusal(user, batch: Batch) -> StrPromise | None:
    """Why ``user`` may not approve or reject ``batch`` (``None``: they may)."""
    if not has_role(user, APPROVERS):
        return _("Only the director approves or rejects a batch.")
    if batch.uploaded_by_id is not None and batch.uploaded_by_id == user.pk:
        return _("The person who uploaded a batch cannot approve or reject it.")
    return None
