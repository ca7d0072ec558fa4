"""Navigation per role and each role's home page: defined once, used by the base template and login."""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .roles import Role
from .scoping import user_role


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: str | Promise
    roles: frozenset[str]


NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("agents:desktop", _("Agent desktop"), frozenset({Role.AGENT, Role.TEAM_LEAD})),
    NavItem("calls:wallboard", _("Wallboard"), frozenset({Role.TEAM_LEAD, Role.DIRECTOR})),
    NavItem(
        "calls:search",
        _("Calls"),
        frozenset({Role.AGENT, Role.TEAM_LEAD, Role.DIRECTOR, Role.ANALYST, Role.MAINTAINER}),
    ),
    NavItem("tickets:inbox", _("Work-order inbox"), frozenset({Role.UNIT_STAFF})),
    NavItem("tickets:list", _("Work orders"), frozenset({Role.ANALYST, Role.DIRECTOR, Role.TEAM_LEAD})),
    NavItem("reports:dashboard", _("Dashboard"), frozenset({Role.DIRECTOR, Role.ANALYST})),
    NavItem("reports:index", _("Reports"), frozenset({Role.TEAM_LEAD, Role.ANALYST, Role.DIRECTOR})),
    NavItem("agents:wfm-staffing", _("Staffing"), frozenset({Role.TEAM_LEAD, Role.DIRECTOR, Role.ANALYST})),
    NavItem("agents:wfm-my-shifts", _("My shifts"), frozenset({Role.AGENT})),
    NavItem("agents:qa-worklist", _("Quality scoring"), frozenset({Role.TEAM_LEAD})),
    NavItem("recordings:list", _("Recordings"), frozenset({Role.TEAM_LEAD, Role.DIRECTOR, Role.MAINTAINER})),
    NavItem("outbound:campaigns", _("Outbound campaigns"), frozenset({Role.TEAM_LEAD, Role.DIRECTOR})),
    NavItem("agents:qa-mine", _("My QA scores"), frozenset({Role.AGENT})),
    NavItem("banking:batches", _("Settlement batches"), frozenset({Role.ANALYST, Role.DIRECTOR})),
    NavItem("risk:alerts", _("Risk alerts"), frozenset({Role.RISK_OFFICER, Role.DIRECTOR})),
    NavItem("ivr:simulator", _("IVR simulator"), frozenset({Role.MAINTAINER, Role.TEAM_LEAD, Role.AGENT})),
    NavItem("ivr:menu-list", _("IVR menus"), frozenset({Role.MAINTAINER})),
    NavItem("ivr:statistics", _("IVR statistics"), frozenset({Role.DIRECTOR, Role.ANALYST, Role.MAINTAINER})),
    NavItem("notifications:outbox", _("SMS"), frozenset({Role.MAINTAINER, Role.DIRECTOR})),
    NavItem("org:config", _("System configuration"), frozenset({Role.MAINTAINER, Role.DIRECTOR})),
)

HOME_BY_ROLE: dict[str, str] = {
    Role.AGENT: "agents:desktop",
    Role.TEAM_LEAD: "calls:wallboard",
    Role.UNIT_STAFF: "tickets:inbox",
    Role.DIRECTOR: "reports:dashboard",
    Role.MAINTAINER: "org:config",
    Role.ANALYST: "tickets:list",
    Role.RISK_OFFICER: "risk:alerts",
}


def nav_items_for(user) -> list[dict]:
    role = user_role(user)
    return [
        {"url": reverse(item.url_name), "label": item.label, "url_name": item.url_name}
        for item in NAV_ITEMS
        if role in item.roles
    ]


def home_url_for(user) -> str | None:
    """The page a user lands on after login; ``None`` for accounts without a UI (the switch)."""
    url_name = HOME_BY_ROLE.get(user_role(user) or "")
    return reverse(url_name) if url_name else None


def display_name(user) -> str:
    """Chinese names read family name first with no space (孙海涛); others "First Last"."""
    first, last = user.first_name.strip(), user.last_name.strip()
    if not (first or last):
        return user.get_username()
    if any("\u4e00" <= char <= "\u9fff" for char in first + last):
        return f"{last}{first}"
    return f"{first} {last}".strip()
