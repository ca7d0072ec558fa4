"""Writes of the notifications app."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from core.pii import FULL_NUMBER_SQL_PATTERN, contains_full_number

from . import texts
from .errors import InvalidTemplate, UnknownTemplate
from .models import SmsOutbox, SmsTemplate, SmsTemplateVersion

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.http import HttpRequest

# Never in an SMS (``core.pii``: the one rule of what may be a full card or account number).
FULL_NUMBER_MESSAGE = "SMS text must not contain a full card or account number"


def sms_enqueue(
    *, phone: str, kind: str, text: str, related_posting_id: int | None = None, created_at: datetime | None = None
) -> SmsOutbox:
    """Queue one SMS in the caller's transaction (an outbox row, not ``on_commit``: a posting's
    notice must not be lost when the process dies right after the commit). ``created_at``: the
    time of the event it reports (a posting's), else now.

    On PostgreSQL the database function ``notifications_sms_enqueue`` (``sms_enqueue_function_sql``)
    is the same write with the same refusals, for writers that run inside the database (the
    transfer function of ``banking``)."""
    if kind not in SmsOutbox.Kind.values:
        raise ValueError(f"unknown SMS kind {kind!r}")
    if contains_full_number(text):
        raise ValueError(FULL_NUMBER_MESSAGE)
    row = SmsOutbox.objects.create(
        phone=phone,
        kind=kind,
        text=text,
        related_posting_id=related_posting_id,
        created_at=created_at or timezone.now(),
    )
    # Sent as soon as the row is committed; should the task never come (the process died right
    # after the commit), beat's sweep finds the row (``notifications.delivery.sweep``).
    transaction.on_commit(partial(_schedule, row.pk), robust=True)
    return row


def sms_deliver_after_commit(ids: list[int]) -> None:
    """Hand rows an outbox writer inside the database queued (the transfer function's notices,
    ``notifications_sms_enqueue``) to delivery once the caller's transaction commits — at once
    when there is none (the statement committed already); the sweep remains the safety net."""
    if ids:
        transaction.on_commit(partial(_schedule_many, list(ids)), robust=True)


def _schedule_many(ids: list[int]) -> None:
    from .delivery import schedule

    schedule(ids)


def _schedule(pk: int) -> None:
    from .delivery import schedule

    schedule([pk])


def sms_enqueue_function_sql() -> str:
    """``CREATE FUNCTION notifications_sms_enqueue(phone, kind, text, related_posting_id,
    created_at) RETURNS bigint`` (the row's id): ``sms_enqueue`` in PL/pgSQL, from the same kinds
    and the same full-number pattern. A refusal raises ``data_exception`` (Django: ``DataError``)
    and writes nothing; the message never repeats the text. The migration that creates the
    function holds this text; ``notifications/tests/test_sms_enqueue_function.py`` fails when they
    differ."""
    kinds = ", ".join(f"'{kind}'" for kind in SmsOutbox.Kind.values)
    return f"""
CREATE OR REPLACE FUNCTION notifications_sms_enqueue(
    p_phone varchar,
    p_kind varchar,
    p_text varchar,
    p_related_posting_id bigint,
    p_created_at timestamptz
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    IF p_kind NOT IN ({kinds}) THEN
        RAISE EXCEPTION 'unknown SMS kind %', p_kind USING ERRCODE = 'data_exception';
    END IF;
    IF normalize(p_text, NFKC) ~ '{FULL_NUMBER_SQL_PATTERN}' THEN
        RAISE EXCEPTION '{FULL_NUMBER_MESSAGE}' USING ERRCODE = 'data_exception';
    END IF;
    INSERT INTO notifications_smsoutbox (phone, kind, text, status, attempts, related_posting_id, created_at, sent_at)
    VALUES (p_phone, p_kind, p_text, '{SmsOutbox.Status.PENDING}', 0, p_related_posting_id, p_created_at, NULL)
    RETURNING id INTO v_id;
    RETURN v_id;
END;
$$;
"""  # noqa: S608 - generated from constants, run once by a migration


# --- the maintainer's templates (``notifications.texts``) ------------------------------------------


def _spec(key: str) -> texts.TemplateSpec:
    try:
        return texts.spec(key)
    except LookupError:
        raise UnknownTemplate() from None


def _template_version(
    *, key: str, text: str, note: str, actor: User, request: HttpRequest | None, before: str
) -> SmsTemplateVersion:
    version = SmsTemplateVersion.objects.create(key=key, text=text, note=note, actor=actor)
    audit_record(
        actor=actor,
        action=f"sms.template_{'reset' if note == SmsTemplateVersion.Note.RESET else 'update'}",
        object_type="smstemplate",
        object_id=key,
        details={"before": before, "after": text, "version": version.pk},
        request=request,
    )
    return version


@transaction.atomic
def sms_template_update(*, key: str, text: str, actor: User, request: HttpRequest | None = None) -> SmsTemplateVersion:
    """The maintainer's text for ``key``; the next message of that kind is sent with it (both
    paths: ``texts.render`` and ``notifications_sms_render``). Refused with ``InvalidTemplate``
    (its code: ``texts.check_text``'s first problem) and ``UnknownTemplate``. A text equal to the
    default removes the override. Leaves an ``SmsTemplateVersion`` and an audit event."""
    spec = _spec(key)
    text = text.replace("\r\n", "\n").strip()
    problems = texts.check_text(spec, text)
    if problems:
        raise InvalidTemplate(problems)
    before = texts.current_text(key)
    if text == spec.default:
        SmsTemplate.objects.filter(key=key).delete()
    else:
        SmsTemplate.objects.update_or_create(
            key=key, defaults={"text": text, "updated_at": timezone.now(), "updated_by": actor}
        )
    return _template_version(
        key=key, text=text, note=SmsTemplateVersion.Note.EDITED, actor=actor, request=request, before=before
    )


@transaction.atomic
def sms_template_reset(*, key: str, actor: User, request: HttpRequest | None = None) -> SmsTemplateVersion:
    """Back to the default text (the override is removed). Leaves a version row and an audit event."""
    spec = _spec(key)
    before = texts.current_text(key)
    SmsTemplate.objects.filter(key=key).delete()
    return _template_version(
        key=key, text=spec.default, note=SmsTemplateVersion.Note.RESET, actor=actor, request=request, before=before
    )
