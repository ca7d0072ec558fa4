"""IVR pages: the simulator (maintainer, team leads, agents), the menu editor and announcements
(maintainer), statistics (maintainer, director, analyst). Server-rendered, htmx for partial
updates; every write goes through ``services``."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from org.permissions import role_required
from org.roles import Role
from org.scoping import user_role

from . import selectors, services
from .errors import MenuInvalid
from .forms import AnnouncementForm, NodeForm, PromptForm, StatisticsForm
from .labels import node_label, node_labels, queue_names
from .menu import KINDS, PLACEHOLDERS, menu_from_tree, validate_menu
from .models import Announcement, IvrCall, MenuNode, MenuVersion, Prompt

SIMULATOR_ROLES = (Role.MAINTAINER, Role.TEAM_LEAD, Role.AGENT)
STATISTICS_ROLES = (Role.MAINTAINER, Role.DIRECTOR, Role.ANALYST)


# --- Simulator ------------------------------------------------------------------------------------


@role_required(*SIMULATOR_ROLES)
def simulator(request):
    maintainer = user_role(request.user) == Role.MAINTAINER
    versions = list(selectors.menu_version_list()) if maintainer else []
    published = selectors.published_version()
    selected = None
    if maintainer and request.GET.get("version", "").isascii() and request.GET.get("version", "").isdigit():
        selected = next((v for v in versions if v.pk == int(request.GET["version"])), None)
    return render(
        request,
        "ivr/simulator.html",
        {
            "versions": versions,
            "published": published,
            "selected": selected or published,
            "maintainer": maintainer,
            "texts": {
                "calling": _("Calling…"),
                "ended": _("The call has ended."),
                "to_agent": _("Transferred to queue %(queue)s."),
                "queue_names": queue_names(),
                "hangup": _("The IVR hung up."),
                # A test call handed to a queue, as the calls app sees it (polled).
                "waiting_agent": _("Test call: waiting for an agent…"),
                "queued": _("Test call waiting in queue %(queue)s for an agent."),
                "ringing": _("Ringing agent %(agent)s (their screen shows a test call)."),
                "connected": _("Agent %(agent)s answered the test call."),
                "call_over": _("The test call has ended."),
                "simulated": _("Simulated, not posted"),
                "error": _("Error"),
                "no_audio": _("(no audio: text only)"),
                "verified": _("verified"),
                "not_verified": _("not verified"),
                "waiting": _("Waiting for keys (up to %(n)s, end with #)"),
                "waiting_one": _("Press one key"),
                "password": _("password"),
                "statuses": dict(MenuVersion.Status.choices),
            },
        },
    )


# --- Menu editor ----------------------------------------------------------------------------------


def _problems(version: MenuVersion) -> list[dict]:
    return [problem.as_dict() for problem in validate_menu(menu_from_tree(selectors.menu_tree_of(version)))]


@role_required(Role.MAINTAINER)
def menu_list(request):
    versions = selectors.menu_version_list()
    calls = {row["version"]: row["n"] for row in IvrCall.objects.values("version").order_by().annotate(n=Count("id"))}
    return render(
        request,
        "ivr/menu_list.html",
        {"versions": [(version, calls.get(version.pk, 0)) for version in versions]},
    )


def _version(pk: int) -> MenuVersion:
    return get_object_or_404(MenuVersion, pk=pk)


def _node_keys(version: MenuVersion) -> list[str]:
    return list(MenuNode.objects.filter(version=version).order_by("position", "key").values_list("key", flat=True))


@role_required(Role.MAINTAINER)
def menu_detail(request, pk: int):
    version = _version(pk)
    nodes = MenuNode.objects.filter(version=version).prefetch_related("options").order_by("position", "key")
    prompts = Prompt.objects.filter(version=version).order_by("key")
    used_prompts: set[str] = set()
    for node in nodes:
        spec = KINDS.get(node.kind)
        used_prompts.update(spec.prompts if spec else ())
        if node.prompt_key or (spec and spec.default_prompt):
            used_prompts.add(node.prompt_key or (spec.default_prompt if spec else ""))
    return render(
        request,
        "ivr/menu_detail.html",
        {
            "version": version,
            "nodes": nodes,
            "prompts": prompts,
            "problems": _problems(version),
            "editable": version.is_draft,
            "new_node_form": NodeForm(node_keys=_node_keys(version), initial={"kind": "menu"}, auto_id="new_%s"),
            "prompt_form": PromptForm(auto_id="newprompt_%s"),
            "placeholders": {key: sorted(names) for key, names in PLACEHOLDERS.items()},
            "kinds": KINDS,
            "used_prompts": used_prompts,
        },
    )


def _back_to(version: MenuVersion) -> HttpResponse:
    return redirect(reverse("ivr:menu-detail", args=[version.pk]))


def _refused(request, error: DomainError) -> None:
    messages.error(request, f"{error.message} ({error.code})")


@require_POST
@role_required(Role.MAINTAINER)
def menu_copy(request, pk: int):
    source = _version(pk)
    version = services.menu_version_copy(version=source, actor=request.user)
    messages.success(request, _("Draft version %(number)s created.") % {"number": version.number})
    return _back_to(version)


@require_POST
@role_required(Role.MAINTAINER)
def menu_publish(request, pk: int):
    version = _version(pk)
    try:
        if version.status == MenuVersion.Status.ARCHIVED:
            services.menu_version_rollback(version=version, actor=request.user)
            messages.success(request, _("Rolled back to version %(number)s.") % {"number": version.number})
        else:
            services.menu_version_publish(version=version, actor=request.user)
            messages.success(request, _("Version %(number)s is published.") % {"number": version.number})
    except DomainError as error:
        _refused(request, error)
        return _back_to(version)
    return redirect("ivr:menu-list")


@require_POST
@role_required(Role.MAINTAINER)
def menu_discard(request, pk: int):
    version = _version(pk)
    try:
        services.menu_version_discard(version=version, actor=request.user)
    except DomainError as error:
        _refused(request, error)
        return _back_to(version)
    messages.success(request, _("Draft version %(number)s discarded.") % {"number": version.number})
    return redirect("ivr:menu-list")


@require_POST
@role_required(Role.MAINTAINER)
def menu_root(request, pk: int):
    version = _version(pk)
    key = request.POST.get("root_key", "")
    try:
        services.menu_version_set_root(version=version, root_key=key, actor=request.user)
    except DomainError as error:
        _refused(request, error)
    return _back_to(version)


@role_required(Role.MAINTAINER)
def node_edit(request, pk: int, key: str):
    """GET: the node's edit form (htmx partial). POST: save it (a new node when ``key`` is ``new``)."""
    version = _version(pk)
    node = None if key == "-new" else get_object_or_404(MenuNode, version=version, key=key)
    keys = _node_keys(version)
    if request.method == "POST":
        form = NodeForm(request.POST, node_keys=keys)
        if form.is_valid():
            new_key = form.cleaned_data["key"]
            try:
                if node is not None and new_key != node.key:
                    raise MenuInvalid(_("A node's key cannot be changed; add a new node."), code="invalid_key")
                if node is None and new_key in keys:
                    raise MenuInvalid(_("Node %(key)s already exists.") % {"key": new_key}, code="duplicate_node")
                services.menu_node_save(version=version, key=new_key, fields=form.node_fields(), actor=request.user)
            except DomainError as error:
                _refused(request, error)
            else:
                messages.success(request, _("Node %(key)s saved.") % {"key": new_key})
            return _back_to(version)
        messages.error(request, _("The node was not saved: check the fields."))
        return _back_to(version)
    if node is None:
        raise Http404
    form = NodeForm(initial=NodeForm.initial_for(node), node_keys=keys, auto_id=f"node_{node.key}_%s")
    form.fields["key"].widget.attrs["readonly"] = True  # a key is the node's identity: add a new one instead
    return render(request, "ivr/_node_form.html", {"version": version, "node": node, "form": form})


@require_POST
@role_required(Role.MAINTAINER)
def node_delete(request, pk: int, key: str):
    version = _version(pk)
    try:
        services.menu_node_delete(version=version, key=key, actor=request.user)
        messages.success(request, _("Node %(key)s deleted.") % {"key": key})
    except DomainError as error:
        _refused(request, error)
    return _back_to(version)


@require_POST
@role_required(Role.MAINTAINER)
def prompt_save(request, pk: int):
    version = _version(pk)
    form = PromptForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The prompt was not saved: a key and a text are needed."))
        return _back_to(version)
    try:
        prompt = services.prompt_set(version=version, actor=request.user, **form.cleaned_data)
    except DomainError as error:
        if request.headers.get("HX-Request"):
            return render(request, "ivr/_prompt_saved.html", {"error": error, "version": version}, status=400)
        _refused(request, error)
        return _back_to(version)
    if request.headers.get("HX-Request"):
        return render(
            request,
            "ivr/_prompt_saved.html",
            {"prompt": prompt, "version": version, "problems": _problems(version)},
        )
    messages.success(request, _("Prompt %(key)s saved.") % {"key": prompt.key})
    return _back_to(version)


# --- Announcements --------------------------------------------------------------------------------


@role_required(Role.MAINTAINER)
def announcement_list(request, pk: int | None = None):
    announcement = get_object_or_404(Announcement, pk=pk) if pk else None
    if request.method == "POST":
        form = AnnouncementForm(request.POST, instance=announcement)
        if form.is_valid():
            try:
                services.announcement_save(announcement=announcement, actor=request.user, **form.cleaned_data)
            except DomainError as error:
                _refused(request, error)
            else:
                messages.success(request, _("Announcement saved."))
                return redirect("ivr:announcements")
    elif announcement is not None:
        form = AnnouncementForm(instance=announcement)
    else:
        form = AnnouncementForm(initial=AnnouncementForm.blank_initial())
    now = timezone.now()
    return render(
        request,
        "ivr/announcements.html",
        {
            "announcements": selectors.announcement_list(),
            "form": form,
            "editing": announcement,
            "now": now,
        },
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@role_required(Role.MAINTAINER)
def announcement_delete(request, pk: int):
    services.announcement_delete(announcement=get_object_or_404(Announcement, pk=pk), actor=request.user)
    messages.success(request, _("Announcement deleted."))
    return redirect("ivr:announcements")


# --- Statistics -----------------------------------------------------------------------------------


@role_required(*STATISTICS_ROLES)
def statistics(request):
    today = timezone.localdate()
    # By default the last 30 days: "this month" is a single day on the 1st.
    form = StatisticsForm(request.GET or {"date_from": today - timedelta(days=29), "date_to": today})
    stats = selectors.ivr_statistics(**form.cleaned_data) if form.is_valid() else None
    if stats:
        published = selectors.published_version()
        labels = node_labels(selectors.menu_tree_of(published)) if published else {}
        for row in stats["nodes"]:
            row["label"] = labels.get(row["node"]) or node_label(row["node"])
    return render(request, "ivr/statistics.html", {"form": form, "stats": stats})
