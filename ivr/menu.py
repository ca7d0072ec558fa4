"""The menu tree as plain data: the kinds of node the engine knows, the tree's JSON form,
the compiled (immutable, cached) menu the engine walks, and validation of a tree.

A tree in JSON (what ``GET /api/ivr/menus/{id}/`` shows and ``PUT .../tree/`` accepts)::

    {"root": "main",
     "prompts": {"welcome": "您好……", "main_menu": "……"},
     "nodes": [{"key": "main", "kind": "menu", "prompt": "main_menu",
                "options": {"1": "account", "0": "agent"}}, ...]}
"""

from __future__ import annotations

import re
import string
from collections import OrderedDict
from dataclasses import dataclass, field
from threading import Lock
from typing import Any

from django.utils.translation import gettext as _

from .errors import MenuInvalid

KEY_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,39}")
OPTION_DIGITS = frozenset("0123456789*")


@dataclass(frozen=True)
class KindSpec:
    """What a node kind needs: prompts it says, whether it takes input, where it may lead."""

    prompts: tuple[str, ...] = ()
    default_prompt: str = ""
    interactive: bool = False  # waits for the caller's keys
    has_options: bool = False
    needs_next: bool = False
    is_exit: bool = False  # the call leaves the IVR here
    needs_auth: bool = False  # only after a successful login
    returns_to_root: bool = False  # may send the caller back to the first menu (refusals)


KINDS: dict[str, KindSpec] = {
    "menu": KindSpec(interactive=True, has_options=True),
    "info": KindSpec(default_prompt="info", needs_next=True),
    "auth": KindSpec(
        prompts=("enter_number", "enter_password", "auth_failed", "locked", "not_registered"),
        interactive=True,
        needs_next=True,
        returns_to_root=True,
    ),
    "balance": KindSpec(prompts=("balance",), needs_next=True, needs_auth=True),
    "today_transactions": KindSpec(prompts=("transactions",), needs_next=True, needs_auth=True),
    "recent_transactions": KindSpec(prompts=("transactions",), needs_next=True, needs_auth=True),
    "transfer": KindSpec(
        prompts=("enter_target", "enter_amount", "transfer_confirm", "transfer_done", "transfer_refused"),
        interactive=True,
        needs_next=True,
        needs_auth=True,
    ),
    "loss_report": KindSpec(
        prompts=("enter_number", "enter_password", "loss_done", "loss_refused"), interactive=True, needs_next=True
    ),
    "agent": KindSpec(default_prompt="to_agent", is_exit=True),
    "hangup": KindSpec(default_prompt="goodbye", is_exit=True),
}

# Said by the engine whatever the tree: the welcome, a wrong key, and the two ways out after
# too many failures (to an agent, or goodbye).
GLOBAL_PROMPTS = ("welcome", "invalid", "to_agent", "goodbye")

# ``{placeholders}`` a prompt may use; the engine fills them from the call's data.
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "enter_password": frozenset({"password_name"}),
    "balance": frozenset({"balance", "number"}),
    "transactions": frozenset({"count", "items"}),
    "transfer_confirm": frozenset({"target", "amount"}),
    "transfer_done": frozenset({"target", "amount", "balance"}),
    "transfer_refused": frozenset({"reason_text"}),
    "loss_done": frozenset({"number", "valid_until"}),
    "loss_refused": frozenset({"reason_text"}),
    "info": frozenset({"text"}),
    "announcement": frozenset({"text"}),
}


@dataclass(frozen=True)
class Node:
    key: str
    kind: str
    title: str = ""
    prompt: str = ""
    text: str = ""
    next: str = ""
    queue: str = ""
    options: dict[str, str] = field(default_factory=dict)

    @property
    def spec(self) -> KindSpec:
        return KINDS[self.kind]

    @property
    def prompt_key(self) -> str:
        return self.prompt or self.spec.default_prompt


@dataclass(frozen=True)
class Menu:
    root: str
    nodes: dict[str, Node]
    prompts: dict[str, str]
    version_id: int | None = None
    revision: int = 0

    def node(self, key: str) -> Node:
        return self.nodes[key]


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    node: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "node": self.node}


# --- JSON form ----------------------------------------------------------------------------------


def menu_from_tree(tree: dict[str, Any], *, version_id: int | None = None, revision: int = 0) -> Menu:
    """Parse the JSON form; shape errors (not a dict, unknown kind, bad key) raise ``MenuInvalid``."""
    if not isinstance(tree, dict):
        raise MenuInvalid(_("The menu must be a JSON object."), code="invalid_tree")
    unknown = sorted(set(tree) - {"root", "prompts", "nodes"})
    if unknown:
        raise MenuInvalid(_("Unknown key in the menu: %(key)s.") % {"key": unknown[0]}, code="invalid_tree")
    root = tree.get("root", "main")
    prompts = tree.get("prompts", {})
    raw_nodes = tree.get("nodes", [])
    if not isinstance(root, str) or not isinstance(prompts, dict) or not isinstance(raw_nodes, list):
        raise MenuInvalid(_("The menu needs root (text), prompts (object) and nodes (list)."), code="invalid_tree")
    for key, text in prompts.items():
        if not KEY_PATTERN.fullmatch(str(key)) or not isinstance(text, str):
            raise MenuInvalid(_("Prompt %(key)s is not valid.") % {"key": str(key)[:40]}, code="invalid_prompt")
    nodes: dict[str, Node] = {}
    allowed = {"key", "kind", "title", "prompt", "text", "next", "queue", "options"}
    for raw in raw_nodes:
        if not isinstance(raw, dict) or set(raw) - allowed:
            raise MenuInvalid(_("A node is not valid."), code="invalid_node")
        key = raw.get("key")
        if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
            raise MenuInvalid(_("A node key must be lowercase letters, digits, _ or -."), code="invalid_key")
        if key in nodes:
            raise MenuInvalid(_("Node %(key)s appears twice.") % {"key": key}, code="duplicate_node")
        kind = raw.get("kind")
        if kind not in KINDS:
            raise MenuInvalid(_("Node %(key)s has an unknown kind.") % {"key": key}, code="unknown_kind")
        options = raw.get("options") or {}
        if not isinstance(options, dict) or not all(isinstance(v, str) for v in options.values()):
            raise MenuInvalid(_("Node %(key)s: options must map keys to nodes.") % {"key": key}, code="invalid_node")
        for digit in options:
            if digit not in OPTION_DIGITS:
                raise MenuInvalid(
                    _("Node %(key)s: an option key must be one of 0-9 or *.") % {"key": key}, code="invalid_option"
                )
        text_fields = {name: raw.get(name, "") for name in ("title", "prompt", "text", "next", "queue")}
        if not all(isinstance(value, str) for value in text_fields.values()):
            raise MenuInvalid(_("Node %(key)s: fields must be text.") % {"key": key}, code="invalid_node")
        nodes[key] = Node(key=key, kind=kind, options=dict(sorted(options.items())), **text_fields)
    return Menu(root=root, nodes=nodes, prompts=dict(prompts), version_id=version_id, revision=revision)


def menu_to_tree(menu: Menu) -> dict[str, Any]:
    nodes = []
    for node in menu.nodes.values():
        item: dict[str, Any] = {"key": node.key, "kind": node.kind}
        for name in ("title", "prompt", "text", "next", "queue"):
            if getattr(node, name):
                item[name] = getattr(node, name)
        if node.options:
            item["options"] = dict(node.options)
        nodes.append(item)
    return {"root": menu.root, "prompts": dict(sorted(menu.prompts.items())), "nodes": nodes}


# --- Validation ---------------------------------------------------------------------------------


def validate_menu(menu: Menu) -> list[Problem]:
    """Everything that would break a live call; an empty list means the tree may be published."""
    problems: list[Problem] = []
    nodes = menu.nodes
    if menu.root not in nodes:
        problems.append(Problem("missing_root", _("The first menu %(key)s does not exist.") % {"key": menu.root}))
        return problems

    for key in GLOBAL_PROMPTS:
        if not menu.prompts.get(key, "").strip():
            problems.append(Problem("missing_prompt", _("Prompt %(key)s is missing.") % {"key": key}))

    for node in nodes.values():
        spec = node.spec
        for target in _targets(node):
            if target not in nodes:
                problems.append(
                    Problem(
                        "dangling_target",
                        _("Node %(node)s leads to %(target)s, which does not exist.")
                        % {"node": node.key, "target": target},
                        node.key,
                    )
                )
        if spec.needs_next and not node.next:
            problems.append(
                Problem("missing_next", _("Node %(node)s needs a next node.") % {"node": node.key}, node.key)
            )
        if spec.has_options and not node.options:
            problems.append(
                Problem("menu_without_options", _("Menu %(node)s has no options.") % {"node": node.key}, node.key)
            )
        if node.kind == "menu" and not node.prompt:
            problems.append(Problem("missing_prompt", _("Menu %(node)s has no prompt.") % {"node": node.key}, node.key))
        needed = list(spec.prompts)
        if node.prompt_key and not (node.kind == "info" and node.text.strip()):
            needed.append(node.prompt_key)
        if node.kind == "info" and not node.text.strip() and not menu.prompts.get(node.prompt_key, "").strip():
            problems.append(
                Problem("missing_prompt", _("Information %(node)s has no text.") % {"node": node.key}, node.key)
            )
            continue
        for key in needed:
            if not menu.prompts.get(key, "").strip():
                problems.append(
                    Problem(
                        "missing_prompt",
                        _("Node %(node)s needs prompt %(key)s, which is missing.") % {"node": node.key, "key": key},
                        node.key,
                    )
                )

    for key, text in menu.prompts.items():
        bad = _unknown_placeholders(key, text)
        if bad:
            problems.append(
                Problem(
                    "unknown_placeholder",
                    _("Prompt %(key)s uses {%(name)s}, which it cannot fill.") % {"key": key, "name": bad},
                )
            )
    if any(problem.code == "dangling_target" for problem in problems):
        return problems  # the graph checks below assume every edge lands on a node

    problems.extend(_loop_problems(menu))
    problems.extend(_auth_problems(menu))
    return problems


def _targets(node: Node) -> list[str]:
    targets = list(node.options.values()) if node.spec.has_options else []
    if node.next:
        targets.append(node.next)
    return targets


def _edges(menu: Menu, node: Node) -> list[str]:
    edges = _targets(node)
    if node.spec.returns_to_root:
        edges.append(menu.root)
    return edges


def _reachable(menu: Menu, start: str, *, stop=lambda node: False) -> set[str]:
    seen, stack = set(), [start]
    while stack:
        key = stack.pop()
        if key in seen:
            continue
        seen.add(key)
        node = menu.nodes[key]
        if stop(node):
            continue
        stack.extend(edge for edge in _edges(menu, node) if edge not in seen)
    return seen


def _loop_problems(menu: Menu) -> list[Problem]:
    """A loop the caller cannot leave: a cycle of nodes that never wait for a key (the IVR would
    talk forever), or a part of the tree from which no key leads to an agent or goodbye."""
    problems: list[Problem] = []
    reachable = _reachable(menu, menu.root)
    for key in sorted(reachable):
        node = menu.nodes[key]
        if node.spec.interactive or node.spec.is_exit:
            continue
        # Follow the chain of non-interactive nodes; coming back to a node means an endless loop.
        seen: list[str] = []
        current = node
        while not current.spec.interactive and not current.spec.is_exit and current.next:
            if current.key in seen:
                problems.append(
                    Problem(
                        "loop_without_exit",
                        _("Nodes %(nodes)s form a loop that never waits for a key.") % {"nodes": " → ".join(seen)},
                        key,
                    )
                )
                return problems
            seen.append(current.key)
            current = menu.nodes[current.next]
    can_exit = {key for key in reachable if any(menu.nodes[k].spec.is_exit for k in _reachable(menu, key))}
    for key in sorted(reachable - can_exit):
        problems.append(
            Problem(
                "loop_without_exit",
                _("From node %(node)s no key leads to an agent or a goodbye.") % {"node": key},
                key,
            )
        )
    return problems


def _auth_problems(menu: Menu) -> list[Problem]:
    """Account nodes (balance, transfer…) must only be reachable through a login node."""
    before_login = _reachable(menu, menu.root, stop=lambda node: node.kind == "auth")
    return [
        Problem(
            "unauthenticated_access",
            _("Node %(node)s can be reached without logging in.") % {"node": key},
            key,
        )
        for key in sorted(before_login)
        if menu.nodes[key].spec.needs_auth
    ]


def _unknown_placeholders(key: str, text: str) -> str:
    allowed = PLACEHOLDERS.get(key, frozenset())
    try:
        names = [name for _literal, name, _spec, _conv in string.Formatter().parse(text) if name is not None]
    except ValueError:
        return "?"
    for name in names:
        if name not in allowed:
            return name or "?"
    return ""


def validate_or_raise(menu: Menu) -> None:
    problems = validate_menu(menu)
    if problems:
        first = problems[0]
        raise MenuInvalid(first.message, code=first.code, details=[problem.as_dict() for problem in problems])


# --- Compiled menus, cached per process by (version id, edit token) -------------------------------

_CACHE: OrderedDict[Any, Menu] = OrderedDict()
_CACHE_LOCK = Lock()
_CACHE_SIZE = 32
# Menus of versions past draft, by version id alone: only drafts are ever edited, so a published
# or archived version's tree never changes again and a call's step needs no look-up of its token.
_FROZEN: dict[int, Menu] = {}


def frozen_menu(version_id: int) -> Menu | None:
    return _FROZEN.get(version_id)


def freeze_menu(version_id: int, menu: Menu) -> None:
    with _CACHE_LOCK:
        if len(_FROZEN) >= _CACHE_SIZE:
            _FROZEN.clear()  # a few versions a year: only a test run gets here
        _FROZEN[version_id] = menu


def clear_menu_caches() -> None:
    """Forget every compiled menu (tests: their databases reuse version ids)."""
    with _CACHE_LOCK:
        _CACHE.clear()
        _FROZEN.clear()


def cached_menu(cache_key, build) -> Menu:
    """The compiled menu for ``cache_key`` (a version and its edit token); ``build()`` runs only
    when it is not cached yet."""
    with _CACHE_LOCK:
        menu = _CACHE.get(cache_key)
        if menu is not None:
            _CACHE.move_to_end(cache_key)
            return menu
    menu = build()
    with _CACHE_LOCK:
        _CACHE[cache_key] = menu
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return menu
