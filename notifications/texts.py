"""The SMS texts as templates: one registry of every message the code sends, each with a default
text (Chinese, with ``{name}`` placeholders) that the maintainer may replace on
``/notifications/sms/templates/`` (``SmsTemplate`` holds the overrides only; every edit and reset is
an ``SmsTemplateVersion`` row and an audit event, ``services.sms_template_update`` / ``_reset``).

The apps that send register their templates in ``AppConfig.ready()`` (``banking.sms_texts``,
``tickets.sms_texts``); they also format the values (last 4 digits, ``banking.money.group_yuan``
amounts, local times), so a placeholder is a string the caller made. No placeholder carries a full
card or account number or a password — ``register`` refuses such a name — and whatever a template
renders still passes the outbox's guard (``services.sms_enqueue``, ``core.pii``).

Substitution is exact and in one pass: ``{name}`` (lower-case letters, digits, ``_``) is replaced
by its value, a value is never scanned again, there are no format specs, and every other brace is
refused when a text is saved. ``sms_render_function_sql`` is the same substitution in PL/pgSQL,
for the transfer function's notice (``banking.transfer_sql``)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from core.pii import contains_full_number

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

    from .models import SmsOutbox, SmsTemplate, SmsTemplateVersion

# ``{name}``; the same pattern in PostgreSQL's regular expressions (ASCII ranges in both).
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
PLACEHOLDER_SQL_PATTERN = r"\{([a-z][a-z0-9_]*)\}"
KEY = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
# What a placeholder must never be called: it would carry a secret or a whole number.
FORBIDDEN_WORDS = frozenset({"password", "passwd", "pwd", "pin", "cvv", "cvn"})
FORBIDDEN_NAMES = frozenset({"number", "card_number", "account_number", "card", "account", "id_number"})

# The outbox's column (``SmsOutbox.text``) and the SMS sizes of a UCS-2 text (Chinese): one
# message holds 70 characters, a longer text goes out in segments of 67.
TEXT_MAX = 500
TEMPLATE_MAX = 1000  # ``SmsTemplate.text``
SINGLE_SMS = 70
SEGMENT = 67


@dataclass(frozen=True)
class TemplateSpec:
    """One message: ``key`` (``app.message``), the outbox ``kind``, a ``label`` for the maintainer
    (lazy, English msgid), the ``default`` text, each placeholder's ``(meaning, sample value)``
    (the preview renders the samples) and the placeholders a text must keep (``required``)."""

    key: str
    kind: str
    label: StrPromise | str
    default: str
    placeholders: Mapping[str, tuple[StrPromise | str, str]]
    required: tuple[str, ...] = field(default=())

    @property
    def samples(self) -> dict[str, str]:
        return {name: sample for name, (_meaning, sample) in self.placeholders.items()}


_REGISTRY: dict[str, TemplateSpec] = {}


class TemplateError(ValueError):
    """A template text that cannot be used; ``code`` says why (``services.sms_template_update``
    turns it into ``errors.InvalidTemplate``)."""

    def __init__(self, code: str, message: str, **params: object) -> None:
        self.code, self.params = code, params
        super().__init__(message)


def placeholders_in(text: str) -> list[str]:
    return PLACEHOLDER.findall(text)


def stray_braces(text: str) -> bool:
    """Whether ``text`` has a brace that is not part of a ``{name}`` placeholder."""
    rest = PLACEHOLDER.sub("", text)
    return "{" in rest or "}" in rest


def _check_spec(spec: TemplateSpec) -> None:
    from .models import SmsOutbox

    if not KEY.fullmatch(spec.key):
        raise ValueError(f"SMS template key {spec.key!r} is not app.message")
    if spec.kind not in SmsOutbox.Kind.values:
        raise ValueError(f"SMS template {spec.key}: unknown kind {spec.kind!r}")
    for name, (_meaning, sample) in spec.placeholders.items():
        if not PLACEHOLDER.fullmatch("{" + name + "}"):
            raise ValueError(f"SMS template {spec.key}: placeholder name {name!r}")
        if name in FORBIDDEN_NAMES or FORBIDDEN_WORDS & set(name.split("_")):
            raise ValueError(f"SMS template {spec.key}: a placeholder may not carry {name!r}")
        if contains_full_number(sample):
            raise ValueError(f"SMS template {spec.key}: the sample of {name!r} looks like a full number")
    if not set(spec.required) <= set(spec.placeholders):
        raise ValueError(f"SMS template {spec.key}: a required placeholder is not one of its placeholders")
    problems = check_text(spec, spec.default)
    if problems:
        raise ValueError(f"SMS template {spec.key}: default text refused ({problems[0].code})")


def register(*specs: TemplateSpec) -> None:
    """Add templates (from an app's ``ready()``). Registering the same spec again is a no-op; another
    spec under a taken key is an error."""
    for spec in specs:
        _check_spec(spec)
        known = _REGISTRY.get(spec.key)
        if known is not None and known != spec:
            raise ValueError(f"SMS template {spec.key!r} is registered twice")
        _REGISTRY[spec.key] = spec


def spec(key: str) -> TemplateSpec:
    try:
        return _REGISTRY[key]
    except KeyError:
        raise LookupError(f"no SMS template {key!r}") from None


def specs() -> list[TemplateSpec]:
    """Every registered template, by key."""
    return [_REGISTRY[key] for key in sorted(_REGISTRY)]


def substitute(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each ``{name}`` replaced by ``values[name]`` in one pass (a value is not
    scanned again). A placeholder without a value is an error (``KeyError``)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"SMS template placeholder {{{name}}} has no value")
        return str(values[name])

    return PLACEHOLDER.sub(value, text)


def current_text(key: str) -> str:
    """The maintainer's text for ``key`` if there is one, else the default."""
    from .models import SmsTemplate

    default = spec(key).default
    override = SmsTemplate.objects.filter(key=key).values_list("text", flat=True).first()
    return override if override is not None else default


def render(key: str, values: Mapping[str, str], *, text: str | None = None) -> str:
    """The message ``key`` with ``values``: one for every placeholder of the template, whether
    the text in force uses it or not (the maintainer may use any tomorrow), and no other.
    ``text``: a template text read already (``current_text``), for a batch of messages."""
    known = spec(key)
    unknown = set(values) - set(known.placeholders)
    if unknown:
        raise KeyError(f"SMS template {key}: no placeholder {sorted(unknown)[0]!r}")
    missing = set(known.placeholders) - set(values)
    if missing:
        raise KeyError(f"SMS template {key}: placeholder {sorted(missing)[0]!r} has no value")
    return substitute(current_text(key) if text is None else text, values)


def enqueue(
    *,
    key: str,
    phone: str,
    values: Mapping[str, str],
    related_posting_id: int | None = None,
    created_at: datetime | None = None,
    text: str | None = None,
) -> SmsOutbox:
    """Render ``key`` and queue it (``services.sms_enqueue``: the caller's transaction, the
    full-number guard) with the template's kind."""
    from .services import sms_enqueue

    return sms_enqueue(
        phone=phone,
        kind=spec(key).kind,
        text=render(key, values, text=text),
        related_posting_id=related_posting_id,
        created_at=created_at,
    )


def overrides() -> dict[str, SmsTemplate]:
    """The maintainer's texts by key (with who edited them), for the list page."""
    from .models import SmsTemplate

    return {row.key: row for row in SmsTemplate.objects.select_related("updated_by")}


def history(key: str, limit: int = 100) -> list[SmsTemplateVersion]:
    """The template's edits and resets, newest first."""
    from .models import SmsTemplateVersion

    return list(SmsTemplateVersion.objects.filter(key=key).select_related("actor")[:limit])


# --- checking a text -----------------------------------------------------------------------------


def ucs2_length(text: str) -> int:
    """Characters as an SMS counts them (UCS-2: a character beyond the BMP takes two)."""
    return len(text.encode("utf-16-le")) // 2


def segments(text: str) -> int:
    """How many SMS the text goes out as: one up to 70 characters, else ⌈n / 67⌉."""
    length = ucs2_length(text)
    if length <= SINGLE_SMS:
        return 1
    return math.ceil(length / SEGMENT)


@dataclass(frozen=True)
class Problem:
    code: str
    params: dict[str, object]


def check_text(spec: TemplateSpec, text: str) -> list[Problem]:
    """Why ``text`` cannot be ``spec``'s template (empty: it can). Codes: ``empty``,
    ``stray_brace``, ``unknown_placeholder``, ``missing_placeholder``, ``full_number`` (in the
    text or in what it renders with the samples) and ``too_long`` (rendered with the samples,
    more than the outbox holds)."""
    problems: list[Problem] = []
    if not text.strip():
        return [Problem("empty", {})]
    if stray_braces(text):
        problems.append(Problem("stray_brace", {}))
    used = placeholders_in(text)
    for name in dict.fromkeys(name for name in used if name not in spec.placeholders):
        problems.append(Problem("unknown_placeholder", {"name": name}))
    for name in spec.required:
        if name not in used:
            problems.append(Problem("missing_placeholder", {"name": name}))
    if problems:
        return problems
    rendered = substitute(text, spec.samples)
    if contains_full_number(text) or contains_full_number(rendered):
        problems.append(Problem("full_number", {}))
    if len(rendered) > TEXT_MAX or len(text) > TEMPLATE_MAX:
        length = max(len(rendered), len(text))
        problems.append(Problem("too_long", {"length": length, "max": TEXT_MAX}))
    return problems


def preview(spec: TemplateSpec, text: str) -> dict[str, object]:
    """What the edit page shows: the text rendered with the samples (when it can be), its length,
    its SMS count and the problems."""
    problems = check_text(spec, text)
    blocking = {"empty", "stray_brace", "unknown_placeholder"}
    rendered = "" if any(p.code in blocking for p in problems) else substitute(text, spec.samples)
    return {
        "rendered": rendered,
        "length": ucs2_length(rendered),
        "segments": segments(rendered) if rendered else 0,
        "problems": problems,
    }


# --- the PostgreSQL twin of ``render`` -----------------------------------------------------------


def sms_render_function_sql() -> str:
    """``CREATE FUNCTION notifications_sms_render(key, default, names, values) RETURNS text``:
    the maintainer's text for ``key`` (``notifications_smstemplate``) or ``default``, each
    ``{name}`` replaced in one pass by the value at the same index in ``values`` — ``render``'s
    result for the same values. A placeholder without a value (or with NULL) raises
    ``data_exception``. The migration that creates the function holds this text;
    ``notifications/tests/test_sms_templates.py`` fails when they differ."""
    return f"""
CREATE OR REPLACE FUNCTION notifications_sms_render(
    p_key varchar,
    p_default text,
    p_names text[],
    p_values text[]
) RETURNS text
LANGUAGE plpgsql STABLE AS $$
-- Generated by notifications.texts.sms_render_function_sql (the twin of notifications.texts.render).
DECLARE
    v_text text;
    v_result text := '';
    v_match text[];
    v_at integer;
    v_index integer;
BEGIN
    SELECT t.text INTO v_text FROM notifications_smstemplate t WHERE t.key = p_key;
    IF NOT FOUND THEN
        v_text := p_default;
    END IF;
    LOOP
        v_match := regexp_match(v_text, '{PLACEHOLDER_SQL_PATTERN}');
        EXIT WHEN v_match IS NULL;
        v_at := strpos(v_text, '{{' || v_match[1] || '}}');
        v_index := array_position(p_names, v_match[1]);
        IF v_index IS NULL OR p_values[v_index] IS NULL THEN
            RAISE EXCEPTION 'SMS template % placeholder % has no value', p_key, v_match[1]
                USING ERRCODE = 'data_exception';
        END IF;
        v_result := v_result || left(v_text, v_at - 1) || p_values[v_index];
        v_text := substr(v_text, v_at + length(v_match[1]) + 2);
    END LOOP;
    RETURN v_result || v_text;
END;
$$;
"""  # noqa: S608 - generated from constants, run once by a migration
