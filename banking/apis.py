"""Agent-facing banking API (DESIGN.md §6 Banking). Every customer lookup is audited with the
reason (the call being handled)."""

from typing import Any, cast

from django.db import transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from audit.services import audit_record
from core.errors import Conflict, Forbidden, NotFound
from org.permissions import roles_allowed
from org.roles import Role
from org.scoping import user_role

from . import batch_policy, batch_selectors, call_port, selectors
from .events import customer_search_event
from .masking import mask_mobile
from .models import Account, Customer
from .serializers import (
    BatchCreatedSerializer,
    BatchDecisionSerializer,
    BatchProgressSerializer,
    BatchUploadSerializer,
    CustomerDetailSerializer,
    CustomerListSerializer,
    CustomerSearchSerializer,
    LossReportCreateSerializer,
    LossReportSerializer,
    PostingSerializer,
    SmsNoticeChangeSerializer,
    SmsNoticeStateSerializer,
    TransactionQuerySerializer,
    UnlockSerializer,
)
from .services import batches
from .services.accounts import sms_notice_subscribe, sms_notice_unsubscribe
from .services.loss_reports import loss_report_register
from .services.passwords import registration_unlock

CUSTOMER_READERS = (Role.AGENT, Role.TEAM_LEAD, Role.DIRECTOR, Role.ANALYST, Role.RISK_OFFICER)


def _query(serializer_class: type[Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class CustomerSearchApi(GenericAPIView):
    """``POST /api/banking/customers/search/`` ``{"q", "call_id"?}`` — phone, full card or account
    number, or ID last 6, in the body: a full number in a URL would be written into every access
    log on its way (banking/middleware.py refuses one in a query string). The answer is the
    paginated list of matching customers with masked numbers (``?page=`` as elsewhere); the search
    is audited with the call and without the full number."""

    permission_classes = [roles_allowed(*CUSTOMER_READERS)]
    serializer_class = CustomerListSerializer
    queryset = Customer.objects.none()  # for the schema only: reads go through the scoped selector

    @extend_schema(request=CustomerSearchSerializer, responses={200: CustomerListSerializer(many=True)})
    def post(self, request: Request) -> Response:
        data = CustomerSearchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        queryset = selectors.customer_search(user=request.user, q=params["q"])
        # DEFAULT_PAGINATION_CLASS is set: never None.
        page = cast(list[Customer], self.paginate_queryset(queryset))
        customer_search_event(
            actor=request.user,
            q=params["q"],
            call_id=params.get("call_id", ""),
            results=[customer.pk for customer in page],
            request=request,
        )
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class CustomerDetailApi(GenericAPIView):
    permission_classes = [roles_allowed(*CUSTOMER_READERS)]
    serializer_class = CustomerDetailSerializer

    @extend_schema(parameters=[OpenApiParameter("call_id", str, description="the call being handled")])
    def get(self, request: Request, customer_id: int) -> Response:
        customer = selectors.customer_get(user=request.user, customer_id=customer_id)
        registration = selectors.registration_for_customer(customer)
        audit_record(
            actor=request.user,
            action="banking.customer_view",
            obj=customer,
            details={"call_id": request.query_params.get("call_id", "")[:128]},
            request=request,
        )
        serializer = self.get_serializer(customer, context={"request": request, "registration": registration})
        return Response(serializer.data)


class AccountTransactionsApi(GenericAPIView):
    """``GET /api/banking/accounts/{id}/transactions/?date_from=&date_to=`` (local dates, inclusive)."""

    permission_classes = [roles_allowed(*CUSTOMER_READERS)]
    serializer_class = PostingSerializer

    @extend_schema(parameters=[TransactionQuerySerializer], responses={200: PostingSerializer(many=True)})
    def get(self, request: Request, account_id: int) -> Response:
        params = _query(TransactionQuerySerializer, request)
        account = selectors.account_get(user=request.user, account_id=account_id)
        queryset = selectors.account_transactions(
            account=account, date_from=params.get("date_from"), date_to=params.get("date_to")
        )
        page = self.paginate_queryset(queryset)
        audit_record(
            actor=request.user,
            action="banking.transactions_view",
            obj=account,
            details={
                "call_id": params.get("call_id", ""),
                "date_from": str(params.get("date_from") or ""),
                "date_to": str(params.get("date_to") or ""),
            },
            request=request,
        )
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class LossReportCreateApi(GenericAPIView):
    """``POST /api/banking/loss-reports/`` — a verbal loss report on the caller's behalf."""

    permission_classes = [roles_allowed(Role.AGENT, Role.TEAM_LEAD)]
    serializer_class = LossReportSerializer

    @extend_schema(request=LossReportCreateSerializer, responses={201: LossReportSerializer})
    def post(self, request: Request) -> Response:
        data = LossReportCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        account = selectors.account_get(user=request.user, account_id=params["account"])
        report = loss_report_register(
            account=account,
            verification=params["verification"],
            channel="agent",
            call_id=params.get("call_id", ""),
            actor=request.user,
            password=params.get("password"),
        )
        return Response(self.get_serializer(report).data, status=status.HTTP_201_CREATED)


class RegistrationUnlockApi(GenericAPIView):
    """``POST /api/banking/registrations/{id}/unlock/`` — team lead, after an identity check."""

    permission_classes = [roles_allowed(Role.TEAM_LEAD)]
    serializer_class = UnlockSerializer

    @extend_schema(request=UnlockSerializer)
    def post(self, request: Request, registration_id: int) -> Response:
        data = UnlockSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        registration = selectors.registration_get(user=request.user, registration_id=registration_id)
        registration = registration_unlock(
            registration=registration,
            actor=request.user,
            call_id=data.validated_data["call_id"],
            reason=data.validated_data["reason"],
        )
        return Response(
            {
                "id": registration.id,
                "registered": True,
                "locked": registration.locked,
                "failed_attempts": registration.failed_attempts,
            }
        )


def _caller_on_agents_call(*, user: Any, call_id: str, account: Account) -> None:
    """The agent's own call in hand, with the caller identified as the account's customer —
    verified in the IVR or linked by the agent ("this is the caller") — else a refusal with a code.
    The call is read through ``call_port`` (banking never imports calls)."""
    facts = call_port.call_facts(call_id)
    if facts is None:
        raise NotFound(_("No such call."), code="call_not_found")
    if facts.agent_id != user.pk:
        raise Conflict(_("This call is not yours."), code="not_your_call")
    if not facts.in_hand:
        raise Conflict(_("The call is no longer being handled."), code="call_not_active")
    if facts.is_test:
        # The IVR simulator's calls never change banking state (DESIGN.md §5).
        raise Conflict(_("A test call cannot change banking data."), code="test_call")
    if not facts.identified_by:
        raise Forbidden(
            _("The caller is not verified: verify them in the IVR or link the customer first."),
            code="caller_not_verified",
        )
    if facts.customer_id != account.customer_id:
        raise Conflict(_("This account is not the caller's."), code="not_callers_account")


class SmsNoticeApi(GenericAPIView):
    """``POST /api/banking/accounts/{id}/sms-notice/`` ``{"enabled", "call_id"}`` — 短信通 on or off
    for a debit main card, to the customer's mobile on record: by the agent on their own call in
    hand with the caller identified (channel ``agent``), or by the staff of the account's unit at
    the customer's request at an outlet (channel ``outlet``, no call). Idempotent: a request for
    the state the account is already in changes nothing (``"changed": false``, no account event).
    Audited either way."""

    permission_classes = [roles_allowed(Role.AGENT, Role.TEAM_LEAD, Role.UNIT_STAFF)]
    serializer_class = SmsNoticeStateSerializer

    @extend_schema(request=SmsNoticeChangeSerializer, responses={200: SmsNoticeStateSerializer})
    def post(self, request: Request, account_id: int) -> Response:
        data = SmsNoticeChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        enabled: bool = data.validated_data["enabled"]
        call_id: str = data.validated_data.get("call_id", "")
        at_outlet = user_role(request.user) == Role.UNIT_STAFF
        if not at_outlet and not call_id:
            raise ValidationError({"call_id": [ErrorDetail(str(_("This field is required.")), code="required")]})
        account = selectors.account_get(user=request.user, account_id=account_id)  # a unit's staff: their unit's
        if at_outlet:
            call_id = ""  # at the counter, not on a call
        else:
            _caller_on_agents_call(user=request.user, call_id=call_id, account=account)
        channel = "outlet" if at_outlet else "agent"
        phone = account.customer.mobile if account.customer_id else ""  # type: ignore[union-attr]  # checked
        with transaction.atomic():
            before = selectors.sms_notice_of(account)
            was_on = before is not None and before.active
            if enabled:
                changed = not (was_on and before is not None and before.phone == phone)
                subscription = (
                    sms_notice_subscribe(
                        account=account, phone=phone, actor=request.user, channel=channel, call_id=call_id
                    )
                    if changed
                    else before
                )
            else:
                changed = was_on
                subscription = (
                    sms_notice_unsubscribe(account=account, actor=request.user, channel=channel, call_id=call_id)
                    if changed
                    else before
                )
            audit_record(
                actor=request.user,
                action="banking.sms_notice_change",
                obj=account,
                details={
                    "channel": channel,
                    "call_id": call_id,
                    "enabled": enabled,
                    "was_enabled": was_on,
                    "changed": changed,
                },
                request=request,
            )
        body = {
            "account": account.pk,
            "enabled": bool(subscription is not None and subscription.active),
            "phone_masked": mask_mobile(subscription.phone) if subscription is not None else "",
            "changed": changed,
        }
        return Response(self.get_serializer(body).data)


# --- settlement batches (DESIGN.md §6 Banking) ---------------------------------------------------


class BatchListCreateApi(GenericAPIView):
    """``POST /api/banking/batches/`` (multipart: ``kind``, ``period``, ``file``, optional
    ``corrects``) → 201 ``{"id", "status", "items", "control_total", ...}`` with the validation
    figures; ``GET`` → the batches, newest first."""

    parser_classes = [MultiPartParser, FormParser, JSONParser]
    permission_classes = [roles_allowed(*batch_policy.READERS)]
    serializer_class = BatchProgressSerializer

    @extend_schema(responses={200: BatchProgressSerializer(many=True)})
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(batch_selectors.batch_list())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request={"multipart/form-data": BatchUploadSerializer}, responses={201: BatchCreatedSerializer})
    def post(self, request: Request) -> Response:
        if not batch_policy.can_upload(request.user):
            raise Forbidden(_("Your role cannot upload settlement batches."))
        data = BatchUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        corrects = batch_selectors.batch_get(batch_id=params["corrects"]) if params.get("corrects") else None
        upload = params["file"]
        batch = batches.batch_upload(
            kind=params["kind"],
            period=params["period"],
            file=upload,
            file_name=upload.name or "",
            actor=request.user,
            corrects=corrects,
        )
        return Response(BatchCreatedSerializer(batch).data, status=status.HTTP_201_CREATED)


class BatchDetailApi(GenericAPIView):
    """``GET /api/banking/batches/{id}/`` → ``{"status", "posted", "failed", "control_total",
    "posted_total", ...}``."""

    permission_classes = [roles_allowed(*batch_policy.READERS)]
    serializer_class = BatchProgressSerializer

    def get(self, request: Request, batch_id: int) -> Response:
        return Response(self.get_serializer(batch_selectors.batch_get(batch_id=batch_id)).data)


class BatchDecisionApi(GenericAPIView):
    """``POST /api/banking/batches/{id}/decision/`` ``{"approve", "note"}`` — the checker (the
    director, not the uploader) approves or rejects (a note required) a validated batch."""

    permission_classes = [roles_allowed(*batch_policy.APPROVERS)]
    serializer_class = BatchProgressSerializer

    @extend_schema(request=BatchDecisionSerializer, responses={200: BatchProgressSerializer})
    def post(self, request: Request, batch_id: int) -> Response:
        data = BatchDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        batch = batch_selectors.batch_get(batch_id=batch_id)
        if data.validated_data["approve"]:
            batch = batches.batch_approve(batch=batch, actor=request.user, note=data.validated_data["note"])
        else:
            batch = batches.batch_reject(batch=batch, actor=request.user, note=data.validated_data["note"])
        return Response(self.get_serializer(batch).data)


class BatchRunApi(GenericAPIView):
    """``POST /api/banking/batches/{id}/run/`` → 202: the run is queued (or resumed by one more
    worker; a done batch is left as it is). Never posts an item twice."""

    permission_classes = [roles_allowed(*batch_policy.RUNNERS)]
    serializer_class = BatchProgressSerializer

    @extend_schema(request=None, responses={202: BatchProgressSerializer})
    def post(self, request: Request, batch_id: int) -> Response:
        batch = batch_selectors.batch_get(batch_id=batch_id)
        batch = batches.batch_run_start(batch=batch, actor=request.user)
        return Response(self.get_serializer(batch).data, status=status.HTTP_202_ACCEPTED)
