"""The agent desktop's outbound side (issue 19): the preview card, the dial in progress, the
outcome form and the 拨打 of today's callbacks — ``/api/outbound/desk/…`` (agents, team leads).

``GET /api/outbound/desk/`` → ``{"preview": contact | null, "dial": attempt | null, "outcomes":
[{"value", "label"}], "enabled": bool}``; a contact carries its campaign (name, kind, script),
the customer (the list's customer, or the one whose mobile is the number — the screen-pop's
customer with accounts, recent contacts and work orders) and its earlier dials. The desk reloads
it on ``{"type": "outbound.changed"}`` over ``/ws/agent/``
(``reservations.outbound_changed_on_commit``).
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.serializers import InputSerializer
from org.permissions import roles_allowed, staff_user
from org.roles import Role

from ..models import Call
from . import dialer
from .models import AttemptStatus, Campaign, CampaignContact, CampaignStatus, DialAttempt, Outcome

DESK_ROLES = (Role.AGENT, Role.TEAM_LEAD)


def _outcomes(campaign: Campaign) -> list[dict[str, str]]:
    from .services import campaign_outcomes

    labels = dict(Outcome.choices)
    return [{"value": value, "label": str(labels.get(value, value))} for value in campaign_outcomes(campaign)]


def _customer(contact: CampaignContact, *, user: Any) -> dict[str, Any] | None:
    from ..selectors import customer_context

    probe = Call(
        ani=contact.phone, customer_id=contact.customer_id, customer_source="agent" if contact.customer_id else ""
    )
    context = customer_context(probe, user=user)
    if context is not None and context.get("match") == "agent":
        context["match"] = "campaign"  # the list named the customer
    return context


def contact_payload(contact: CampaignContact, *, user: Any) -> dict[str, Any]:
    campaign = contact.campaign
    earlier = DialAttempt.objects.filter(contact=contact).order_by("-decided_at", "-pk")[:5]
    return {
        "id": contact.pk,
        "name": contact.name,
        "phone": contact.phone,
        "attempts": contact.attempts,
        "source": contact.source,
        "data": {str(k): str(v)[:200] for k, v in (contact.data or {}).items()},
        "campaign": {
            "code": campaign.code,
            "name": campaign.name,
            "kind": campaign.kind,
            "kind_label": str(campaign.get_kind_display()),
            "mode": campaign.mode,
            "script": campaign.script,
        },
        "customer": _customer(contact, user=user),
        "history": [
            {
                "decided_at": attempt.decided_at.isoformat(),
                "outcome": attempt.outcome or attempt.cause or attempt.status,
                "note": attempt.note[:200],
            }
            for attempt in earlier
        ],
        "outcomes": _outcomes(campaign),
    }


def attempt_payload(attempt: DialAttempt, *, user: Any) -> dict[str, Any]:
    return {
        "id": attempt.pk,
        "command_id": attempt.command_id,
        "status": attempt.status,
        "status_label": str(attempt.get_status_display()),
        "call_id": attempt.call_id or None,
        "answered": attempt.answered_at is not None,
        "awaiting_outcome": attempt.status == AttemptStatus.ENDED
        and attempt.answered_at is not None
        and not attempt.outcome,
        "contact": contact_payload(attempt.contact, user=user),
    }


def current_attempt(user: Any) -> DialAttempt | None:
    """The agent's dial in progress, else their answered dial still waiting for its outcome."""
    rows = DialAttempt.objects.select_related("contact", "contact__campaign", "campaign").filter(agent=user)
    live = rows.filter(status__in=dialer.LIVE).order_by("-decided_at").first()
    if live is not None:
        return live
    return (
        rows.filter(status=AttemptStatus.ENDED, answered_at__isnull=False, outcome="")
        .order_by("-decided_at", "-pk")
        .first()
    )


def outbound_desk(user: Any) -> dict[str, Any]:
    attempt = current_attempt(user)
    contact = dialer.previewed(user) if attempt is None else None
    enabled = (
        dialer._agent_campaigns(user)
        .filter(status=CampaignStatus.RUNNING)
        .exclude(code__startswith=dialer.CALLBACKS_PREFIX)
        .exists()
    )
    return {
        "enabled": enabled,
        "dial": attempt_payload(attempt, user=user) if attempt is not None else None,
        "preview": contact_payload(contact, user=user) if contact is not None else None,
    }


# --- APIs -----------------------------------------------------------------------------------------


class SkipSerializer(InputSerializer):
    reason = serializers.CharField(max_length=200)


class OutcomeSerializer(InputSerializer):
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    callback_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class DeskApi(APIView):
    """``GET /api/outbound/desk/``: the agent's outbound panel."""

    permission_classes = [roles_allowed(*DESK_ROLES)]

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        return Response(outbound_desk(staff_user(request)))


class PreviewNextApi(APIView):
    """``POST /api/outbound/desk/next/``: reserve the next contact of a preview campaign for the
    agent's screen → the desk (``preview`` null: nothing to call now)."""

    permission_classes = [roles_allowed(*DESK_ROLES)]

    @extend_schema(request=None, responses={200: dict})
    def post(self, request: Request) -> Response:
        user = staff_user(request)
        dialer.preview_next(user)
        return Response(outbound_desk(user))


class ContactDialApi(APIView):
    """``POST /api/outbound/desk/contacts/{id}/dial/``: 拨打 (the contact on the agent's screen)."""

    permission_classes = [roles_allowed(*DESK_ROLES)]

    @extend_schema(request=None, responses={201: dict})
    def post(self, request: Request, contact_id: int) -> Response:
        user = staff_user(request)
        dialer.preview_dial(user, contact_id=contact_id)
        return Response(outbound_desk(user), status=201)


class ContactSkipApi(APIView):
    """``POST /api/outbound/desk/contacts/{id}/skip/`` ``{"reason"}``: 跳过."""

    permission_classes = [roles_allowed(*DESK_ROLES)]

    @extend_schema(request=SkipSerializer, responses={200: dict})
    def post(self, request: Request, contact_id: int) -> Response:
        body = SkipSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = staff_user(request)
        dialer.preview_skip(user, contact_id=contact_id, reason=body.validated_data["reason"])
        return Response(outbound_desk(user))


class OutcomeApi(APIView):
    """``POST /api/outbound/desk/attempts/{id}/outcome/`` ``{"outcome", "callback_at"?, "note"?}``:
    the agent's disposition of their answered call (closes its after-call work)."""

    permission_classes = [roles_allowed(*DESK_ROLES)]

    @extend_schema(request=OutcomeSerializer, responses={200: dict})
    def post(self, request: Request, attempt_id: int) -> Response:
        body = OutcomeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = staff_user(request)
        dialer.outcome_record(user, attempt_id=attempt_id, **body.validated_data)
        return Response(outbound_desk(user))


class CallbackDialApi(APIView):
    """``POST /api/outbound/desk/callbacks/{id}/dial/``: 拨打 on a row of today's callbacks."""

    permission_classes = [roles_allowed(*DESK_ROLES)]

    @extend_schema(request=None, responses={201: dict})
    def post(self, request: Request, callback_id: int) -> Response:
        user = staff_user(request)
        dialer.callback_dial(user, callback_id=callback_id)
        return Response(outbound_desk(user), status=201)


app_name = "outbound-desk-api"
urlpatterns = [
    path("", DeskApi.as_view(), name="desk"),
    path("next/", PreviewNextApi.as_view(), name="next"),
    path("contacts/<int:contact_id>/dial/", ContactDialApi.as_view(), name="dial"),
    path("contacts/<int:contact_id>/skip/", ContactSkipApi.as_view(), name="skip"),
    path("attempts/<int:attempt_id>/outcome/", OutcomeApi.as_view(), name="outcome"),
    path("callbacks/<int:callback_id>/dial/", CallbackDialApi.as_view(), name="callback-dial"),
]
