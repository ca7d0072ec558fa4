"""The maintainer's SMS templates (``/notifications/sms/templates/``): every registered message with
its text in force, and one message's page — the text to edit, its placeholders, a live preview with
the sample values (htmx posts the text to ``preview``: the rendered text, its length, how many SMS
it goes out as, the problems), save, reset to the default and the history of edits. The
maintainer edits; the director reads."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from org.navigation import display_name
from org.permissions import role_required, staff_user
from org.roles import Role
from org.scoping import user_role

from . import texts
from .errors import TEMPLATE_PROBLEMS, InvalidTemplate
from .models import SmsOutbox
from .services import sms_template_reset, sms_template_update
from .views import READERS

TEXT_INPUT_MAX = texts.TEMPLATE_MAX + 1  # longer is refused by the service, not cut silently


def _spec_or_404(key: str) -> texts.TemplateSpec:
    try:
        return texts.spec(key)
    except LookupError:
        raise Http404(_("No such SMS template.")) from None


def _can_edit(request: HttpRequest) -> bool:
    return user_role(request.user) == Role.MAINTAINER


def _kind_label(kind: str) -> str:
    return str(dict(SmsOutbox.Kind.choices).get(kind, kind))


def _preview_context(spec: texts.TemplateSpec, text: str) -> dict[str, Any]:
    result = texts.preview(spec, text)
    problems = [str(TEMPLATE_PROBLEMS[p.code]) % p.params for p in result["problems"]]  # type: ignore[attr-defined]
    return {
        "preview": result,
        "problems": problems,
        "several": result["segments"] > 1,  # type: ignore[operator]
        "single_max": texts.SINGLE_SMS,
        "segment_size": texts.SEGMENT,
    }


@role_required(*READERS)
def template_list(request: HttpRequest) -> HttpResponse:
    overrides = texts.overrides()
    rows = []
    for spec in texts.specs():
        override = overrides.get(spec.key)
        rows.append(
            {
                "spec": spec,
                "kind": _kind_label(spec.kind),
                "text": override.text if override else spec.default,
                "override": override,
                "by": display_name(override.updated_by) if override and override.updated_by else "",
            }
        )
    return render(request, "notifications/templates.html", {"rows": rows, "tab": "templates"})


def _edit_page(
    request: HttpRequest, spec: texts.TemplateSpec, *, text: str | None = None, errors: list[str] | None = None
) -> HttpResponse:
    current = texts.current_text(spec.key)
    shown = current if text is None else text
    override = texts.overrides().get(spec.key)
    versions = [
        {
            "version": version,
            "note": version.get_note_display(),
            "by": display_name(version.actor) if version.actor else "",
        }  # type: ignore[attr-defined]
        for version in texts.history(spec.key)
    ]
    placeholders = [
        {"name": name, "tag": "{" + name + "}", "meaning": meaning, "sample": sample, "required": name in spec.required}
        for name, (meaning, sample) in spec.placeholders.items()
    ]
    context = {
        "spec": spec,
        "kind": _kind_label(spec.kind),
        "text": shown,
        "override": override,
        "override_by": display_name(override.updated_by) if override and override.updated_by else "",
        "placeholders": placeholders,
        "versions": versions,
        "can_edit": _can_edit(request),
        "errors": errors or [],
        "text_max": TEXT_INPUT_MAX,
        **_preview_context(spec, shown),
    }
    return render(request, "notifications/templates_edit.html", context, status=422 if errors else 200)


@role_required(*READERS)
def template_edit(request: HttpRequest, key: str) -> HttpResponse:
    return _edit_page(request, _spec_or_404(key))


@require_POST
@role_required(Role.MAINTAINER)
def template_save(request: HttpRequest, key: str) -> HttpResponse:
    """Save the text; a refused one comes back on the page with the reasons (nothing saved)."""
    spec = _spec_or_404(key)
    text = request.POST.get("text", "")[:TEXT_INPUT_MAX]
    try:
        sms_template_update(key=spec.key, text=text, actor=staff_user(request), request=request)
    except InvalidTemplate as error:
        return _edit_page(request, spec, text=text, errors=[item["message"] for item in error.details])
    messages.success(request, _("The template is saved: the next messages are sent with it."))
    count = texts.preview(spec, text)["segments"]
    if count > 1:  # type: ignore[operator]
        messages.warning(request, _("With the sample values it goes out as %(count)s SMS.") % {"count": count})
    return redirect("notifications:template", key=spec.key)


@require_POST
@role_required(Role.MAINTAINER)
def template_reset(request: HttpRequest, key: str) -> HttpResponse:
    spec = _spec_or_404(key)
    sms_template_reset(key=spec.key, actor=staff_user(request), request=request)
    messages.success(request, _("The template is back to its default text."))
    return redirect("notifications:template", key=spec.key)


@require_POST
@role_required(*READERS)
def template_preview(request: HttpRequest, key: str) -> HttpResponse:
    """The preview fragment for the text being typed (htmx); writes nothing."""
    spec = _spec_or_404(key)
    text = request.POST.get("text", "")[:TEXT_INPUT_MAX]
    return render(request, "notifications/templates_preview.html", _preview_context(spec, text))
