"""``/api/outbound/``: campaigns (team leads write, the director and analysts read), their
contacts, list imports and segments, figures and the do-not-call list (the agent's outcome of a
dial is the desktop's: ``calls.outbound.desk``). Errors use the envelope
``{"error": {"code", "message"}}`` (docs/outbound.md, "API")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from org.permissions import roles_allowed, staff_user
from org.roles import Role

from . import errors, jobs, selectors, services
from .models import CampaignContact, DoNotCall, ImportJob
from .serializers import (
    CampaignSerializer,
    CampaignWriteSerializer,
    ContactAddSerializer,
    ContactQuerySerializer,
    ContactSerializer,
    DncAddSerializer,
    DncQuerySerializer,
    DncRemoveSerializer,
    DncSerializer,
    FiguresQuerySerializer,
    ImportJobSerializer,
    SegmentSerializer,
)

READERS = (Role.TEAM_LEAD, Role.DIRECTOR, Role.ANALYST)
WRITERS = (Role.TEAM_LEAD,)
DNC_WRITERS = (Role.TEAM_LEAD, Role.DIRECTOR)
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def _queue(code: str) -> Any:
    from ..models import Queue

    queue = Queue.objects.filter(code=code).first()
    if queue is None:
        raise errors.CampaignInvalid("No such queue.", code="unknown_queue")
    return queue


class _WriteMixin:
    def get_permissions(self):  # type: ignore[no-untyped-def]
        roles = READERS if self.request.method in ("GET", "HEAD", "OPTIONS") else WRITERS  # type: ignore[attr-defined]
        return [roles_allowed(*roles)()]


class CampaignListApi(_WriteMixin, generics.ListAPIView):
    """``GET``: campaigns (``?status=``); ``POST``: create one (team lead) → 201."""

    serializer_class = CampaignSerializer

    def get_queryset(self) -> QuerySet:
        return selectors.campaign_list(status=self.request.query_params.get("status") or None)

    @extend_schema(request=CampaignWriteSerializer, responses={201: CampaignSerializer})
    def post(self, request: Request) -> Response:
        body = CampaignWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        code = data.pop("code")
        data["queue"] = _queue(data["queue"])
        data["outcomes"] = tuple(data["outcomes"])
        campaign = services.campaign_create(
            code=code, fields=services.CampaignFields(**data), actor=staff_user(request), request=request
        )
        return Response(CampaignSerializer(selectors.campaign_get(campaign.pk)).data, status=status.HTTP_201_CREATED)


class CampaignDetailApi(_WriteMixin, APIView):
    """``GET``: one campaign with its progress; ``PATCH``: change its editable fields."""

    @extend_schema(responses={200: CampaignSerializer})
    def get(self, request: Request, pk: int) -> Response:
        campaign = selectors.campaign_get(pk)
        return Response({**CampaignSerializer(campaign).data, "progress": selectors.campaign_progress(campaign)})

    @extend_schema(request=CampaignWriteSerializer, responses={200: CampaignSerializer})
    def patch(self, request: Request, pk: int) -> Response:
        campaign = selectors.campaign_get(pk)
        body = CampaignWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        changes = dict(body.validated_data)
        for fixed in ("code", "kind"):
            if fixed in changes:
                raise errors.CampaignInvalid(f"{fixed} cannot be changed.", code="not_editable")
        if "queue" in changes:
            changes["queue"] = _queue(changes["queue"])
        campaign = services.campaign_update(
            campaign=campaign, changes=changes, actor=staff_user(request), request=request
        )
        return Response(CampaignSerializer(selectors.campaign_get(campaign.pk)).data)


class CampaignMoveApi(APIView):
    """``POST …/start/``, ``…/pause/``, ``…/finish/`` (team lead) → the campaign; 409
    ``invalid_campaign_state`` when its status does not allow it."""

    permission_classes = [roles_allowed(*WRITERS)]
    move = "start"

    @extend_schema(request=None, responses={200: CampaignSerializer})
    def post(self, request: Request, pk: int) -> Response:
        campaign = services.campaign_move(
            campaign=selectors.campaign_get(pk), move=self.move, actor=staff_user(request), request=request
        )
        return Response(CampaignSerializer(campaign).data)


class CampaignFiguresApi(APIView):
    """``GET …/figures/?date_from=&date_to=`` (local dates, default the last 30 days)."""

    permission_classes = [roles_allowed(*READERS)]

    @extend_schema(parameters=[FiguresQuerySerializer], responses={200: dict})
    def get(self, request: Request, pk: int) -> Response:
        campaign = selectors.campaign_get(pk)
        query = FiguresQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        today = timezone.localdate()
        date_to = query.validated_data.get("date_to") or today
        date_from = query.validated_data.get("date_from") or date_to - timedelta(days=29)
        if date_to < date_from:
            raise errors.CampaignInvalid("The period ends before it starts.", code="invalid_dates")
        figures = selectors.campaign_figures(campaign, date_from, date_to)
        return Response({**figures, "date_from": date_from.isoformat(), "date_to": date_to.isoformat()})


class CampaignContactsApi(_WriteMixin, generics.ListAPIView):
    """``GET``: the campaign's contacts (``?status=``), paginated; ``POST``: add one by hand."""

    serializer_class = ContactSerializer

    def get_queryset(self) -> QuerySet[CampaignContact]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return CampaignContact.objects.none()
        campaign = selectors.campaign_get(self.kwargs["pk"])
        query = ContactQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.campaign_contacts(campaign, status=query.validated_data.get("status"))

    @extend_schema(request=ContactAddSerializer, responses={201: ContactSerializer})
    def post(self, request: Request, pk: int) -> Response:
        campaign = selectors.campaign_get(pk)
        body = ContactAddSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if selectors.phones_in_campaign(campaign.pk, [body.validated_data["phone"]]):
            raise errors.CampaignState("That number is already in the campaign.", code="duplicate_contact")
        contact, _created = services.contact_add(campaign=campaign, actor=staff_user(request), **body.validated_data)
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)


class CampaignImportsApi(_WriteMixin, generics.ListAPIView):
    """``GET``: the campaign's list imports; ``POST`` (multipart, field ``file``: CSV or XLSX) →
    202 with the job, whose counters grow while the task reads the file."""

    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[ImportJob]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return ImportJob.objects.none()
        return selectors.campaign_imports(selectors.campaign_get(self.kwargs["pk"]))

    @extend_schema(request={"multipart/form-data": dict}, responses={202: ImportJobSerializer})
    def post(self, request: Request, pk: int) -> Response:
        campaign = selectors.campaign_get(pk)
        upload = request.FILES.get("file")
        if upload is None:
            raise errors.InvalidFile("Send the list as the multipart field 'file'.", code="file_required")
        if upload.size and upload.size > MAX_UPLOAD_BYTES:
            raise errors.InvalidFile("The file is larger than 50 MB.", code="file_too_large")
        unknown = sorted(set(request.data.keys()) - {"file"})
        if unknown:
            raise errors.InvalidFile(f"Unknown field: {unknown[0]}.", code="unknown_field")
        job = jobs.import_start(
            campaign=campaign, upload=upload, file_name=upload.name or "list.csv", actor=staff_user(request)
        )
        job.refresh_from_db()
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class CampaignSegmentApi(APIView):
    """``POST …/segments/`` ``{"min_balance": "5000.00", "sms_notice": true, "limit"?}`` → 202 job."""

    permission_classes = [roles_allowed(*WRITERS)]

    @extend_schema(request=SegmentSerializer, responses={202: ImportJobSerializer})
    def post(self, request: Request, pk: int) -> Response:
        campaign = selectors.campaign_get(pk)
        body = SegmentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        job = jobs.segment_build(
            campaign=campaign,
            min_balance=data["min_balance"],
            sms_notice=data["sms_notice"],
            limit=data["limit"],
            actor=staff_user(request),
        )
        job.refresh_from_db()
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ImportJobApi(APIView):
    """``GET /api/outbound/imports/<id>/``: a list import's progress."""

    permission_classes = [roles_allowed(*READERS)]

    @extend_schema(responses={200: ImportJobSerializer})
    def get(self, request: Request, pk: int) -> Response:
        return Response(ImportJobSerializer(selectors.import_get(pk)).data)


class DncListApi(generics.ListAPIView):
    """``GET``: the do-not-call list (``?phone=`` prefix, ``?include_removed=true``); ``POST``: add a
    number ``{"phone", "reason", "all_campaigns", "note"}`` → 201; 409 ``dnc_already_listed``."""

    serializer_class = DncSerializer

    def get_permissions(self):  # type: ignore[no-untyped-def]
        roles = READERS if self.request.method in ("GET", "HEAD", "OPTIONS") else DNC_WRITERS
        return [roles_allowed(*roles)()]

    def get_queryset(self) -> QuerySet[DoNotCall]:
        query = DncQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.dnc_list(
            phone=query.validated_data.get("phone", ""), include_removed=query.validated_data["include_removed"]
        )

    @extend_schema(request=DncAddSerializer, responses={201: DncSerializer})
    def post(self, request: Request) -> Response:
        body = DncAddSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        entry = services.dnc_add(actor=staff_user(request), **body.validated_data)
        return Response(DncSerializer(entry).data, status=status.HTTP_201_CREATED)


class DncRemoveApi(APIView):
    """``POST /api/outbound/dnc/<id>/remove/`` ``{"note"}``: the number may be called again."""

    permission_classes = [roles_allowed(*DNC_WRITERS)]

    @extend_schema(request=DncRemoveSerializer, responses={200: DncSerializer})
    def post(self, request: Request, pk: int) -> Response:
        body = DncRemoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        entry = services.dnc_remove(
            entry=selectors.dnc_get(pk), note=body.validated_data["note"], actor=staff_user(request), request=request
        )
        return Response(DncSerializer(entry).data)
