"""The work-order API (DESIGN.md §6 "Work orders"). Each view parses its input, reads the ticket
through the scoped selector (another unit's is 404) and calls one service."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.http import FileResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer, Serializer

from org.permissions import has_role, roles_allowed, staff_user

from . import policy, selectors
from .errors import UnknownAccount, UnknownCustomer
from .models import Ticket, TicketAttachment
from .selectors import AnyUser, TicketFilter
from .serializers import (
    AdjustmentDecisionInput,
    AdjustmentInput,
    AdjustmentSerializer,
    AttachmentInput,
    AttachmentSerializer,
    CallbackInput,
    CustomerLinkInput,
    DispatchInput,
    EmptyInput,
    EventSerializer,
    ExtendInput,
    ExtensionDecisionInput,
    MergeInput,
    NoteInput,
    ReasonInput,
    ReplyInput,
    ReviewInput,
    TicketCreateInput,
    TicketDetailSerializer,
    TicketListQuery,
    TicketListSerializer,
)
from .services.adjustments import ticket_adjustment_decide, ticket_adjustment_post, ticket_adjustment_waive
from .services.attachments import ticket_attachment_add
from .services.contacts import ticket_create, ticket_customer_link
from .services.extensions import ticket_extension_decide, ticket_extension_request
from .services.pauses import ticket_pause, ticket_resume
from .services.workflow import (
    ticket_accept,
    ticket_callback,
    ticket_chase,
    ticket_close,
    ticket_dispatch,
    ticket_merge,
    ticket_reply,
    ticket_review,
    ticket_withdraw,
)

if TYPE_CHECKING:
    from banking.models import Account, Customer


def _input(serializer_class: type[Serializer[Any]], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _customer(user: AnyUser, customer_id: int | None) -> Customer | None:
    if not customer_id:
        return None
    from banking import selectors as banking
    from core.errors import NotFound

    try:
        return banking.customer_get(user=user, customer_id=customer_id)
    except NotFound:
        raise UnknownCustomer() from None


def _account(user: AnyUser, account_id: int | None) -> Account | None:
    if not account_id:
        return None
    from banking import selectors as banking
    from core.errors import NotFound

    try:
        return banking.account_get(user=user, account_id=account_id)
    except NotFound:
        raise UnknownAccount() from None


def require_role(request: Request, roles: Iterable[str]) -> None:
    """The role check of an action, made after the scoped lookup (so out of scope stays 404)."""
    if not has_role(request.user, roles):
        raise PermissionDenied()


def _detail(user: AnyUser, ticket_id: int, *, status_code: int = status.HTTP_200_OK) -> Response:
    ticket = selectors.ticket_detail(user=user, ticket_id=ticket_id)
    return Response(TicketDetailSerializer(ticket, context={"now": timezone.now()}).data, status=status_code)


class TicketListCreateApi(GenericAPIView):
    """``GET /api/tickets/`` (scoped, filtered, paginated); ``POST /api/tickets/`` records a contact."""

    serializer_class = TicketListSerializer
    queryset = Ticket.objects.none()  # for the schema only: reads go through the scoped selector

    def get_permissions(self) -> list[BasePermission]:
        roles = policy.RECORDERS if self.request.method == "POST" else policy.READERS
        return [roles_allowed(*roles)()]

    @extend_schema(parameters=[TicketListQuery], responses={200: TicketListSerializer(many=True)})
    def get(self, request: Request) -> Response:
        query = _input(TicketListQuery, request.query_params)
        filters = TicketFilter(
            state=query.get("state") or (),
            unit=query.get("unit") or "",
            category=query.get("category") or "",
            kind=query.get("kind") or "",
            overdue=query.get("overdue"),
            q=query.get("q") or "",
            date_from=query.get("date_from"),
            date_to=query.get("date_to"),
            dispatched_from=query.get("dispatched_from"),
            dispatched_to=query.get("dispatched_to"),
            closed_from=query.get("closed_from"),
            closed_to=query.get("closed_to"),
            customer=query.get("customer"),
            order=query.get("ordering") or "received",
        )
        now = timezone.now()
        page = self.paginate_queryset(selectors.ticket_list(user=request.user, filters=filters, now=now))
        return self.get_paginated_response(TicketListSerializer(page, many=True, context={"now": now}).data)

    @extend_schema(request=TicketCreateInput, responses={201: TicketDetailSerializer})
    def post(self, request: Request) -> Response:
        data = _input(TicketCreateInput, request.data)
        ticket = ticket_create(
            actor=staff_user(request),
            kind=data["kind"],
            category=data["category"],
            description=data["description"],
            customer=_customer(request.user, data.get("customer")),
            account=_account(request.user, data.get("account")),
            call_id=data.get("call_id") or "",
            caller_number=data.get("caller_number") or "",
            received_at=data.get("received_at"),
        )
        return _detail(request.user, ticket.pk, status_code=status.HTTP_201_CREATED)


class TicketDetailApi(GenericAPIView):
    permission_classes = [roles_allowed(*policy.READERS)]
    serializer_class = TicketDetailSerializer

    def get(self, request: Request, ticket_id: int) -> Response:
        return _detail(request.user, ticket_id)


class TicketHistoryApi(GenericAPIView):
    """``GET /api/tickets/{id}/history/``: every change, oldest first (paginated)."""

    permission_classes = [roles_allowed(*policy.READERS)]
    serializer_class = EventSerializer

    @extend_schema(responses={200: EventSerializer(many=True)})
    def get(self, request: Request, ticket_id: int) -> Response:
        page = self.paginate_queryset(selectors.ticket_history(user=request.user, ticket_id=ticket_id))
        return self.get_paginated_response(EventSerializer(page, many=True).data)


class TicketActionApi(GenericAPIView):
    """``POST /api/tickets/{id}/<action>/``: one state change; the work order comes back.

    The work order is looked up before the role is checked: another unit's is a 404 for every
    action, whatever the caller's role allows; a role not allowed on a visible one is a 403."""

    permission_classes = [roles_allowed(*policy.READERS)]
    roles: tuple[str, ...] = ()
    input_class: type[Serializer[Any]] = EmptyInput

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return self.input_class

    def perform(self, request: Request, ticket: Ticket, data: dict[str, Any]) -> None:
        raise NotImplementedError

    @extend_schema(responses={200: TicketDetailSerializer})
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = selectors.ticket_get(user=request.user, ticket_id=ticket_id)
        require_role(request, self.roles)
        data = _input(self.input_class, request.data)
        self.perform(request, ticket, data)
        return _detail(request.user, ticket_id)


class DispatchApi(TicketActionApi):
    roles, input_class = policy.DISPATCHERS, DispatchInput

    def perform(self, request: Request, ticket: Ticket, data: dict[str, Any]) -> None:
        ticket_dispatch(ticket=ticket, actor=staff_user(request), unit_code=data["unit"])


class AcceptApi(TicketActionApi):
    roles = policy.UNIT_HANDLERS

    def perform(self, request: Request, ticket: Ticket, data: dict[str, Any]) -> None:
        ticket_accept(ticket=ticket, actor=staff_user(request))


class ReplyApi(TicketActionApi):
    roles, input_class = policy.UNIT_HANDLERS, ReplyInput

    def perform(self, request: Request, ticket: Ticket, data: dict[str, Any]) -> None:
        amount: Any = data.get("adjustment_amount")
        fen = None
        if amount not in (None, ""):
            from banking.money import parse_amount

            fen = parse_amount(amount)
        ticket_reply(
            ticket=ticket,
            actor=staff_user(request),
            result=data["result"],
            resolved=data["resolved"],
            adjustment_fen=fen,
        )


class ReviewApi(TicketActionApi):
    roles, input_class = policy.REVIEWERS, ReviewInput

    def perform(self, request: Request, ticket: Ticket, data: dict[str, Any]) -> None:
        ticket_review(ticket=ticket, actor=staff_user(request), accepted=data["accepted"], note=data["note"])


class ExtendApi(TicketActionApi):
    roles, input_class = policy.EXTENSION_REQUESTERS, ExtendInput

    def perform(self, request: Request, ticket: Ticket, data: dict[str, Any]) -> None:
        ticket_extension_request(ticket=ticket, actor=staff_user(request), days=data["days"], reason=data["reason"])


class CallbackApi(TicketActionApi):
    roles, input_class = policy.CALLERS, CallbackInput

    def perform(self, request: Request, ticket: Ticket, data: dict[str, Any]) -> None:
        ticket_callback(ticket=ticket, actor=staff_user(request), satisfied=data["satisfied"], note=data["note"])


class CloseApi(TicketActionApi):
    roles, input_class = policy.CLOSERS, NoteInput

    def perform(self, request: Request, ticket: Ticket, data: dict[str, Any]) -> None:
        ticket_close(ticket=ticket, actor=staff_user(request), note=data["note"])


class WithdrawApi(TicketActionApi):
    roles, input_class = policy.DISPATCHERS, ReasonInput

    def perform(self, request: Request, ticket: Ticket, data: dict[str, Any]) -> None:
        ticket_withdraw(ticket=ticket, actor=staff_user(request), reason=data["reason"])


class MergeApi(TicketActionApi):
    roles, input_class = policy.DISPATCHERS, MergeInput

    def perform(self, request: Request, ticket: Ticket, data: dict[str, Any]) -> None:
        into = selectors.ticket_get(user=request.user, ticket_id=data["into"])
        ticket_merge(ticket=ticket, actor=staff_user(request), into=into)


class PauseApi(TicketActionApi):
    roles, input_class = policy.PAUSERS, ReasonInput

    def perform(self, request: Request, ticket: Ticket, data: dict[str, Any]) -> None:
        ticket_pause(ticket=ticket, actor=staff_user(request), reason=data["reason"])


class ResumeApi(TicketActionApi):
    roles = policy.PAUSERS

    def perform(self, request: Request, ticket: Ticket, data: dict[str, Any]) -> None:
        ticket_resume(ticket=ticket, actor=staff_user(request))


class ChaseApi(TicketActionApi):
    roles, input_class = policy.REVIEWERS, NoteInput

    def perform(self, request: Request, ticket: Ticket, data: dict[str, Any]) -> None:
        ticket_chase(ticket=ticket, actor=staff_user(request), note=data["note"])


class ExtensionDecisionApi(GenericAPIView):
    """``POST /api/tickets/{id}/extensions/{ext}/approve/`` or ``/reject/``."""

    permission_classes = [roles_allowed(*policy.READERS)]
    serializer_class = ExtensionDecisionInput
    approve = True

    @extend_schema(responses={200: TicketDetailSerializer})
    def post(self, request: Request, ticket_id: int, extension_id: int) -> Response:
        extension = selectors.extension_get(user=request.user, ticket_id=ticket_id, extension_id=extension_id)
        require_role(request, policy.EXTENSION_DECIDERS)
        data = _input(ExtensionDecisionInput, request.data)
        ticket_extension_decide(extension=extension, actor=staff_user(request), approve=self.approve, note=data["note"])
        return _detail(request.user, ticket_id)


class CustomerLinkApi(TicketActionApi):
    """``POST /api/tickets/{id}/customer/`` ``{"customer"}``: link or change the contact's customer."""

    roles, input_class = policy.CUSTOMER_LINKERS, CustomerLinkInput

    def perform(self, request: Request, ticket: Ticket, data: dict[str, Any]) -> None:
        ticket_customer_link(
            ticket=ticket, actor=staff_user(request), customer=_customer(request.user, data["customer"])
        )


class AdjustmentWaiveApi(TicketActionApi):
    """``POST /api/tickets/{id}/adjustment/waive/`` ``{"reason"}`` (analyst, director)."""

    roles, input_class = policy.ADJUSTMENT_WAIVERS, ReasonInput

    def perform(self, request: Request, ticket: Ticket, data: dict[str, Any]) -> None:
        ticket_adjustment_waive(ticket=ticket, actor=staff_user(request), reason=data["reason"])


class AdjustmentDecisionApi(TicketActionApi):
    """``POST /api/tickets/{id}/adjustment/decide/`` ``{"approve", "note"}`` (director): an
    adjustment above the approval threshold is posted on approval; a rejection needs a note."""

    roles, input_class = policy.ADJUSTMENT_APPROVERS, AdjustmentDecisionInput

    def perform(self, request: Request, ticket: Ticket, data: dict[str, Any]) -> None:
        ticket_adjustment_decide(ticket=ticket, actor=staff_user(request), approve=data["approve"], note=data["note"])


class AdjustmentApi(GenericAPIView):
    """``POST /api/tickets/{id}/adjustment/`` ``{"account"}``: post the amount the unit confirmed to
    one of the customer's accounts, once: 201 the first time, 200 with the same adjustment on any
    repeat. Above the approval threshold the answer is the request, ``status: pending_approval``."""

    permission_classes = [roles_allowed(*policy.READERS)]
    serializer_class = AdjustmentInput

    @extend_schema(request=AdjustmentInput, responses={201: AdjustmentSerializer, 200: AdjustmentSerializer})
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = selectors.ticket_get(user=request.user, ticket_id=ticket_id)
        require_role(request, policy.ADJUSTMENT_POSTERS)
        data = _input(AdjustmentInput, request.data)
        result = ticket_adjustment_post(
            ticket=ticket, actor=staff_user(request), account=_account(request.user, data.get("account"))
        )
        return Response(
            AdjustmentSerializer(result.adjustment).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class AttachmentListApi(GenericAPIView):
    """``GET`` the work order's attachments; ``POST`` multipart ``file`` adds one (checked for size,
    type by extension and content, programs and scripts refused)."""

    permission_classes = [roles_allowed(*policy.READERS)]
    serializer_class = AttachmentSerializer
    queryset = TicketAttachment.objects.none()  # for the schema only

    @extend_schema(operation_id="tickets_attachments_list", responses={200: AttachmentSerializer(many=True)})
    def get(self, request: Request, ticket_id: int) -> Response:
        page = self.paginate_queryset(selectors.attachment_list(user=request.user, ticket_id=ticket_id))
        return self.get_paginated_response(AttachmentSerializer(page, many=True).data)

    @extend_schema(request={"multipart/form-data": AttachmentInput}, responses={201: AttachmentSerializer})
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = selectors.ticket_get(user=request.user, ticket_id=ticket_id)
        require_role(request, policy.ATTACHERS)
        data = _input(AttachmentInput, request.data)
        attachment = ticket_attachment_add(ticket=ticket, actor=staff_user(request), upload=data["file"])
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


class AttachmentDownloadApi(GenericAPIView):
    permission_classes = [roles_allowed(*policy.READERS)]

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request: Request, ticket_id: int, attachment_id: int) -> FileResponse:
        attachment = selectors.attachment_get(user=request.user, ticket_id=ticket_id, attachment_id=attachment_id)
        return attachment_response(attachment)


def attachment_response(attachment: TicketAttachment) -> FileResponse:
    """Always a download (never rendered inline by the browser), with the original name."""
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    return response
