"""The agent desktop: the agent's home page (state bar, call controls, screen-pop, wrap-up,
callbacks). The page is a shell; ``static/agents/desktop.js`` fills it from ``/ws/agent/`` and
the REST API, and resyncs by itself after a network drop."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from org.permissions import role_required
from org.roles import Role

from .call_port import call_side
from .models import SYSTEM_REASONS, AgentState, Reason


def _choices(choices) -> list[dict[str, str]]:
    return [{"value": value, "label": str(label)} for value, label in choices]


def _ticket_choices() -> dict[str, list[dict[str, str]]] | None:
    try:
        from tickets.selectors import contact_choices
    except ImportError:  # pragma: no cover - the tickets app ships with the project
        return None
    return contact_choices()


def _ivr_labels() -> dict[str, str]:
    """The published menu's node names in the agent's language, for the screen-pop's IVR path."""
    from ivr.labels import node_labels
    from ivr.selectors import menu_tree_of, published_version

    version = published_version()
    return node_labels(menu_tree_of(version)) if version is not None else {}


def _account_labels() -> dict[str, dict[str, str]]:
    from banking.selectors import account_labels

    return account_labels()


def desktop_texts() -> dict[str, Any]:
    """Strings the desktop's script shows, translated on the server (no JS catalog needed)."""
    return {
        "connected": _("Connected"),
        "reconnecting": _("Reconnecting…"),
        "offline_link": _("Connection lost; retrying"),
        "no_call": _("No call. Set yourself ready to receive calls."),
        "waiting": _("Ready: waiting for a call…"),
        "incoming": _("Incoming call"),
        "on_call": _("On a call"),
        "on_hold": _("On hold"),
        "acw": _("After-call work"),
        "answer": _("Answer"),
        "hold": _("Hold"),
        "retrieve": _("Retrieve"),
        "hangup": _("Hang up"),
        "transfer": _("Transfer call"),
        "transfer_to": _("Transfer to"),
        "queue": _("Queue"),
        "agent": _("Agent"),
        "wrapup": _("Finish wrap-up"),
        "disposition": _("Disposition"),
        "note": _("Note"),
        "record_ticket": _("Record a consultation, complaint or suggestion"),
        "kind": _("Kind"),
        "category": _("Category"),
        "description": _("Description"),
        "answer_within": _("Answer within %(s)s s"),
        "verified": _("Verified in the IVR"),
        "ani_match": _("Matched by caller number — not verified: check identity"),
        "recording_paused": _("Recording paused while the caller says the password."),
        "test_call": _("Test call"),
        "test_call_hint": _("Placed from the IVR simulator: not counted in the KPIs, no money moves."),
        "unknown_caller": _("Unknown caller"),
        "ivr_path": _("IVR path"),
        "accounts": _("Accounts"),
        "number": _("Number"),
        "balance": _("Account balance"),
        "status": _("Status"),
        "recent_transactions": _("Recent transactions"),
        "time": _("Time"),
        "amount": _("Amount"),
        "memo": _("Memo"),
        "recent_contacts": _("Recent contacts"),
        "work_orders": _("Work orders"),
        "none": _("None"),
        "loss_report": _("Verbal loss report"),
        "verification": _("Verification"),
        "password": _("Withdrawal password"),
        "confirm_loss": _("Report lost"),
        "loss_done": _("Reported lost; valid until %(until)s."),
        "caller": _("Caller"),
        "mobile": _("Mobile"),
        "id_last4": _("ID (last 4)"),
        "home_unit": _("Branch"),
        "phone_banking": _("Phone banking"),
        "registered": _("Registered"),
        "not_registered": _("Not registered"),
        "locked": _("Locked"),
        "answered": _("Answered"),
        "missed": _("Not answered"),
        "call_id": _("Call"),
        "waited": _("Waited"),
        "error": _("Something went wrong"),
        "done": _("Reached"),
        "failed": _("Not reached"),
        "cancel": _("Cancel"),
        "due": _("Call back at"),
        "phone": _("Phone"),
        "no_callbacks": _("No callbacks to make."),
        "saved": _("Saved."),
        "login_again": _("Your session has ended. Log in again."),
        "select_reason": _("Choose a reason"),
        "login_shift": _("Start shift: ready"),
        # Customer search and "this is the caller" (the screen-pop's find-the-customer box).
        "find_customer": _("Find the customer"),
        "search_hint": _("Mobile, card or account number, or ID last 6"),
        "search": _("Search"),
        "no_match": _("No customer found."),
        "this_is_caller": _("This is the caller"),
        "linked": _("Linked to the call by the agent — check identity"),
        "unidentified": _("Unidentified caller"),
        # The wrap-up notice: the record just made, with its number (it stays until dismissed).
        "ticket_recorded": _("Recorded: work order no. %(number)s"),
        "contact_recorded": _("Recorded: registration no. %(number)s"),
        "view": _("View"),
        "dismiss": _("Dismiss"),
        # The outbound panel (issue 19: calls.outbound.desk serves /api/outbound/desk/).
        "outbound_next": _("Next contact"),
        "outbound_none": _("No contact to call now."),
        "outbound_dial": _("Dial"),
        "outbound_skip": _("Skip"),
        "outbound_skip_reason": _("Why skip this contact?"),
        "outbound_script": _("Script"),
        "outbound_history": _("Earlier attempts"),
        "outbound_campaign": _("Campaign"),
        "outbound_customer": _("Customer"),
        "outbound_outcome": _("Outcome"),
        "outbound_callback_at": _("Call back at"),
        "outbound_record": _("Record outcome"),
        "outbound_dialing": _("Dialling %(phone)s for %(campaign)s …"),
        "outbound_connected": _("Outbound call with %(phone)s"),
        "outbound_outcome_below": _("Record the outcome of the outbound call in the outbound panel."),
        # Why the offer ringing the desk was withdrawn (the ``call.withdrawn`` push's ``reason``).
        "withdrawn": {
            "expired": _("The call was not answered in time: it went back to the queue for the next agent."),
            "rejected": _("The call went back to the queue when you changed your state."),
            "disconnected": _("Your desktop was disconnected: the call went back to the queue for the next agent."),
            "caller_hung_up": _("The caller hung up before the call was answered."),
            "moved": _("The call was moved elsewhere before it was answered."),
        },
    }


@role_required(Role.AGENT, Role.TEAM_LEAD)
def desktop(request):
    config: dict[str, Any] = {
        "ws": "/ws/agent/",
        "urls": {
            "me": reverse("agents-api:me"),
            "state": reverse("agents-api:my-state"),
            "agents": reverse("agents-api:list"),
            "callbacks": reverse("agents-api:callbacks"),
            "outbound": "/api/outbound/desk/",  # calls.outbound.desk (agents does not import calls)
            "call": "/api/calls/CALL_ID/",
            "loss": "/api/banking/loss-reports/",
            "recording_pause": "/api/recordings/pause/",
            "customer_search": reverse("api-customer-search"),
            "login": reverse("org:login"),
        },
        "offer_timeout_s": settings.CALLS_OFFER_TIMEOUT_S,
        **call_side().desktop_choices(),  # "queues", "dispositions"
        "reasons": _choices([(v, label) for v, label in Reason.choices if v not in SYSTEM_REASONS]),
        "reason_labels": {value: str(label) for value, label in Reason.choices},
        "state_labels": {value: str(label) for value, label in AgentState.choices},
        "tickets": _ticket_choices(),
        "banking": _account_labels(),
        "ivr_labels": _ivr_labels(),
        "texts": desktop_texts(),
    }
    return render(request, "agents/desktop.html", {"config": config})
