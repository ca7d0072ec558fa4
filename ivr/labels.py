"""Names of IVR menu nodes as staff read them (statistics, screen-pop crumbs, the simulator).

A node's ``title`` is menu content the maintainer edits. The default menu's titles are these
strings in Chinese when seeded; as long as a node keeps its default title, pages show it in the
reader's language, and a title the maintainer changed is shown as typed. A node without a title
shows its key.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from django.utils import translation
from django.utils.translation import gettext_lazy as _

DEFAULT_NODE_TITLES = {
    "main": _("Main menu"),
    "account": _("Account services login"),
    "account_menu": _("Account services"),
    "balance": _("Balance enquiry"),
    "today": _("Today's transactions"),
    "recent": _("Recent transactions"),
    "transfer": _("Transfer"),
    "loss": _("Verbal loss report"),
    "info": _("Financial information"),
    "info_rates": _("Deposit rates"),
    "info_fees": _("Fee schedule"),
    "info_scope": _("Business scope"),
    "agent": _("Agent service"),
}

SEED_LANGUAGE = "zh-hans"


@cache
def seeded_title(key: str) -> str:
    """The title the default menu is seeded with for ``key`` (its Chinese name)."""
    with translation.override(SEED_LANGUAGE):
        return str(DEFAULT_NODE_TITLES[key])


def node_label(key: str, title: str = "") -> str:
    default = DEFAULT_NODE_TITLES.get(key)
    if default is not None and (not title or title == seeded_title(key)):
        return str(default)
    return title or key


def node_labels(tree: dict) -> dict[str, str]:
    """``{key: label}`` for every node of a menu tree (``ivr.selectors.menu_tree_of``)."""
    return {node["key"]: node_label(node["key"], node.get("title", "")) for node in tree.get("nodes", [])}


# Queues belong to ``calls``, which depends on this app; it registers how to name a queue at
# start-up (``calls.apps``) so the IVR's pages can say "transferred to 综合业务" without importing it.
_queue_names: Callable[[], dict[str, str]] = dict


def register_queue_names(provider: Callable[[], dict[str, str]]) -> None:
    global _queue_names
    _queue_names = provider


def queue_names() -> dict[str, str]:
    """``{code: name}`` of the agent queues, in the reader's language."""
    return _queue_names()
