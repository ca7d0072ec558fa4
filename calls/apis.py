"""Calls APIs: the switch's CTI feed and call status, agents' call controls, the wallboard."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.exceptions import GENERIC_FIELD_CODES, error_body
from core.api.telephony import CallIdInPath
from org.permissions import roles_allowed, staff_user
from org.roles import Role
from org.scoping import user_role

from . import dispatch, errors, selectors
from .models import Queue
from .serializers import (
    CallbackAcceptSerializer,
    CallDetailSerializer,
    CallStatusSerializer,
    CtiEventSerializer,
    EmptySerializer,
    TransferSerializer,
    WrapupSerializer,
)
from .services import callbacks, control, cti, ivr_handoff, lookups

if TYPE_CHECKING:
    pass

User = get_user_model()

CALL_READERS = (Role.SWITCH, Role.AGENT, Role.TEAM_LEAD, Role.DIRECTOR, Role.MAINTAINER, Role.ANALYST)
CALL_HANDLERS = (Role.AGENT, Role.TEAM_LEAD)
SUPERVISORS = (Role.TEAM_LEAD, Role.DIRECTOR)
# Codes of a refused single event and their statuses.
EVENT_CODE_STATUS = {"event_id_conflict": 409, "unknown_queue": 422, "unknown_agent": 422, "call_not_found": 404}


def _first_error(detail: Any) -> tuple[str, str]:
    """(code, message) of the first leaf of a DRF error detail."""
    while isinstance(detail, dict | list):
        if not detail:
            return "invalid_input", ""
        detail = next(iter(detail.values())) if isinstance(detail, dict) else detail[0]
    code = getattr(detail, "code", "invalid") or "invalid"
    return ("invalid_input" if code in GENERIC_FIELD_CODES else code), str(detail)


_checkers = threading.local()


def _cti_checker() -> CtiEventSerializer:
    """This thread's CTI event serializer, kept from request to request: validating keeps no
    state on it (``run_validation`` returns the values or raises), and building its bound fields
    cost a third of validating a single event."""
    checker = getattr(_checkers, "serializer", None)
    if checker is None:
        checker = _checkers.serializer = CtiEventSerializer()
    return checker


class CtiEventsApi(APIView):
    """``POST /api/cti/events/``: one event or a list (at most ``CALLS_MAX_BATCH``).

    → 200 ``{"accepted", "duplicates", "rejected", "results": [{"event_id", "status", "code"?,
    "message"?}]}``. A list is answered per event (a bad event does not refuse the others); a
    single refused event is answered with the error envelope and its code (400 validation codes,
    409 ``event_id_conflict``, 422 ``unknown_queue`` / ``unknown_agent``).
    """

    permission_classes = [roles_allowed(Role.SWITCH)]

    @extend_schema(request=CtiEventSerializer(many=True), responses={200: dict})
    def post(self, request: Request) -> Response:
        body = request.data
        single = not isinstance(body, list)
        items = [body] if single else body
        if not items:
            return Response(error_body("empty_batch", "No events."), status=400)
        if len(items) > settings.CALLS_MAX_BATCH:
            return Response(
                error_body("batch_too_large", f"At most {settings.CALLS_MAX_BATCH} events per request."), status=400
            )
        results: list[dict[str, Any] | None] = [None] * len(items)
        valid: list[tuple[int, dict[str, Any]]] = []
        # One serializer for the whole batch: each event is validated on its own (a bad one is
        # refused alone) without building the fields again per event.
        checker = _cti_checker()
        for index, item in enumerate(items):
            try:
                valid.append((index, dict(checker.run_validation(item))))
            except serializers.ValidationError as exc:
                code, message = _first_error(exc.detail)
                event_id = item.get("event_id") if isinstance(item, dict) else None
                results[index] = {"event_id": event_id, "status": "rejected", "code": code, "message": message}
        self._resolve(valid, results)
        ready = [(index, event) for index, event in valid if results[index] is None]
        if ready:
            outcome = cti.cti_events_ingest(events=[event for _index, event in ready])
            for (index, _event), result in zip(ready, outcome, strict=True):
                results[index] = result.as_dict()
        answered = cast("list[dict[str, Any]]", results)  # every event has its result now
        if single and answered[0]["status"] == "rejected":
            code = answered[0]["code"]
            return Response(error_body(code, answered[0]["message"]), status=EVENT_CODE_STATUS.get(code, 400))
        counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
        for row in answered:
            counts[row["status"]] += 1
        return Response(
            {
                "accepted": counts["accepted"],
                "duplicates": counts["duplicate"],
                "rejected": counts["rejected"],
                "results": answered,
            }
        )

    @staticmethod
    def _resolve(valid: list[tuple[int, dict[str, Any]]], results: list[dict[str, Any] | None]) -> None:
        """Agent usernames → ids, queue codes checked; unknown ones refuse the event."""
        usernames = {event["agent"] for _index, event in valid if event.get("agent")}
        agents = lookups.agent_ids_for(usernames)
        for index, event in valid:
            agent = event.pop("agent", None) or ""
            queue = event.get("queue") or ""
            if agent and agent not in agents:
                results[index] = {
                    "event_id": event["event_id"],
                    "status": "rejected",
                    "code": "unknown_agent",
                    "message": str(errors.UnknownAgent.default_message),
                }
                continue
            if queue and lookups.queue_id_for(queue) is None:
                results[index] = {
                    "event_id": event["event_id"],
                    "status": "rejected",
                    "code": "unknown_queue",
                    "message": str(errors.UnknownQueue.default_message),
                }
                continue
            event["agent_id"] = agents.get(agent)
            event["queue"] = queue
            details = {key: event.pop(key, None) for key in ("ani", "dnis", "direction")}
            event["data"] = {key: value for key, value in details.items() if value}


class CallStatusApi(CallIdInPath, APIView):
    """``GET /api/calls/{call_id}/`` → ``{"state", "queue", "agent", "extension"}`` (+
    ``callback_offer``: the caller waited long enough to be offered a callback)."""

    permission_classes = [roles_allowed(*CALL_READERS)]

    @extend_schema(responses={200: CallStatusSerializer})
    def get(self, request: Request, call_id: str) -> Response:
        dispatch.sweep_if_due()
        call = selectors.call_get(call_id)
        if call.is_test and user_role(request.user) == Role.SWITCH:
            raise errors.CallNotFound()  # the simulator's test calls are not the switch's
        return Response(CallStatusSerializer(call).data)


ACTIONS = {
    "answer": control.call_answer,
    "hold": control.call_hold,
    "retrieve": control.call_retrieve,
    "hangup": control.call_hangup,
}


class CallActionApi(CallIdInPath, APIView):
    """``POST /api/calls/{call_id}/answer|hold|retrieve|hangup/`` — the agent's own call only."""

    permission_classes = [roles_allowed(*CALL_HANDLERS)]
    action_name = ""

    @extend_schema(request=EmptySerializer, responses={200: CallDetailSerializer})
    def post(self, request: Request, call_id: str) -> Response:
        EmptySerializer(data=request.data or {}).is_valid(raise_exception=True)
        call = ACTIONS[self.action_name](call_id=call_id, user=staff_user(request))
        return Response(CallDetailSerializer(selectors.call_get(call.call_id)).data)


class CallWrapupApi(CallIdInPath, APIView):
    """``POST /api/calls/{call_id}/wrapup/`` ``{"disposition", "note", "ticket"?}``; ``ticket``
    ``{"kind", "category", "description"}`` records a consultation / complaint / suggestion."""

    permission_classes = [roles_allowed(*CALL_HANDLERS)]

    @extend_schema(request=WrapupSerializer, responses={200: CallDetailSerializer})
    def post(self, request: Request, call_id: str) -> Response:
        serializer = WrapupSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        call = control.call_wrapup(call_id=call_id, user=staff_user(request), **serializer.validated_data)
        body = dict(CallDetailSerializer(selectors.call_get(call.call_id)).data)
        ticket = getattr(call, "wrapup_ticket", None)
        # The contact recorded with the wrap-up: the desktop shows its number with a link.
        body["ticket"] = (
            {"id": ticket.pk, "number": ticket.number, "kind": ticket.kind, "url": f"/tickets/{ticket.pk}/"}
            if ticket is not None
            else None
        )
        return Response(body)


class CustomerLinkSerializer(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1)


class CallCustomerLinkApi(CallIdInPath, APIView):
    """``POST /api/calls/{call_id}/customer/`` ``{"customer"}`` — "this is the caller": the agent
    links the customer to their own call and its contacts; the answer is the new screen-pop."""

    permission_classes = [roles_allowed(*CALL_HANDLERS)]

    @extend_schema(request=CustomerLinkSerializer, responses={200: dict})
    def post(self, request: Request, call_id: str) -> Response:
        from banking.errors import AccountNotFound
        from banking.selectors import customer_get

        serializer = CustomerLinkSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            customer = customer_get(user=staff_user(request), customer_id=serializer.validated_data["customer"])
        except AccountNotFound:
            raise errors.InvalidInput(_("No such customer."), code="unknown_customer") from None
        call = control.call_customer_link(call_id=call_id, user=staff_user(request), customer=customer)
        return Response(selectors.screen_pop(selectors.call_get(call.call_id), for_user=staff_user(request)))


class CallTransferApi(CallIdInPath, APIView):
    """``POST /api/calls/{call_id}/transfer/`` ``{"queue"}`` or ``{"agent"}`` (blind transfer)."""

    permission_classes = [roles_allowed(*CALL_HANDLERS)]

    @extend_schema(request=TransferSerializer, responses={200: CallDetailSerializer})
    def post(self, request: Request, call_id: str) -> Response:
        serializer = TransferSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        call = control.call_transfer(call_id=call_id, user=staff_user(request), **serializer.validated_data)
        return Response(CallDetailSerializer(selectors.call_get(call.call_id)).data)


class CallCallbackApi(CallIdInPath, APIView):
    """``POST /api/calls/{call_id}/callback/`` (switch) ``{"phone"?}``: the waiting caller accepted
    the callback offer → 201 the callback task; the call ends."""

    permission_classes = [roles_allowed(Role.SWITCH)]

    @extend_schema(request=CallbackAcceptSerializer, responses={201: dict})
    def post(self, request: Request, call_id: str) -> Response:
        serializer = CallbackAcceptSerializer(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        callback = callbacks.call_callback_accept(
            call_id=call_id, actor=staff_user(request), **serializer.validated_data
        )
        from agents.serializers import CallbackSerializer

        return Response(CallbackSerializer(callback).data, status=status.HTTP_201_CREATED)


class TestCallHangupApi(CallIdInPath, APIView):
    """``POST /api/calls/{call_id}/test-hangup/``: the IVR simulator's caller hangs up their own
    test call once it is queued, ringing or connected (real calls: 404 ``call_not_found``)."""

    permission_classes = [roles_allowed(Role.MAINTAINER, Role.TEAM_LEAD, Role.AGENT)]

    @extend_schema(request=None, responses={200: CallStatusSerializer})
    def post(self, request: Request, call_id: str) -> Response:
        call = ivr_handoff.call_tester_hangup(call_id=call_id, tester=staff_user(request))
        return Response(CallStatusSerializer(selectors.call_get(call.call_id)).data)


class ScreenPopApi(CallIdInPath, APIView):
    """``GET /api/calls/{call_id}/screen-pop/``: what ``call.offered`` carried (the agent's
    current call, or any call for team leads and the director)."""

    permission_classes = [roles_allowed(Role.AGENT, Role.TEAM_LEAD, Role.DIRECTOR)]

    @extend_schema(responses={200: dict})
    def get(self, request: Request, call_id: str) -> Response:
        call = selectors.call_get(call_id)
        if user_role(request.user) == Role.AGENT:
            mine = call.agent_id == request.user.pk or any(
                leg.get("agent") == request.user.pk for leg in call.legs or []
            )
            if not mine:
                raise errors.CallNotFound()
        return Response(selectors.screen_pop(call, for_user=staff_user(request)))


class WallboardApi(APIView):
    """``GET /api/calls/wallboard/``: the same snapshot the ``/ws/wallboard/`` socket pushes."""

    permission_classes = [roles_allowed(*SUPERVISORS)]

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        return Response(selectors.wallboard_snapshot())


class QueueSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField(source="display_name")


class QueueListApi(generics.ListAPIView):
    """``GET /api/calls/queues/``: active queues (transfer targets, skills)."""

    permission_classes = [roles_allowed(Role.AGENT, Role.TEAM_LEAD, Role.DIRECTOR, Role.MAINTAINER)]
    serializer_class = QueueSerializer

    def get_queryset(self) -> QuerySet[Queue]:
        return selectors.queue_list()
