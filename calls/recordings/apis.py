"""``/api/recordings/``: the switch's upload, the search, one recording, its audio, its download,
its legal hold (DESIGN.md §6 "Recordings", docs/recordings.md)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponseBase, UnreadablePostError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from core.api.exceptions import error_body
from org.permissions import roles_allowed, staff_user
from org.roles import Role

from ..models import Recording
from . import access, selectors, services
from .serializers import (
    LegalHoldInput,
    PauseInput,
    RecordingDetailSerializer,
    RecordingListQuery,
    RecordingSerializer,
    RecordingUploadInput,
)

MULTIPART_SLACK = 64 * 1024  # the form's other fields and boundaries around the file


def _input(serializer_class: type[Serializer[Any]], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class RecordingUploadHandler(TemporaryFileUploadHandler):
    """The file part straight to a temporary file on disk (never whole in memory), hashed with
    SHA-256 and counted as it arrives; over ``RECORDINGS_MAX_BYTES`` the upload stops."""

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.digest = hashlib.sha256()
        self.received = 0
        self.too_large = False
        self.declared_length = self.content_length  # the part's own Content-Length, if it sent one

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > settings.RECORDINGS_MAX_BYTES:
            self.too_large = True
            raise StopUpload(connection_reset=False)
        self.digest.update(raw_data)
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size: int) -> UploadedFile | None:
        uploaded = super().file_complete(file_size)
        if uploaded is not None:
            uploaded.sha256 = self.digest.hexdigest()  # type: ignore[attr-defined]
            uploaded.declared_length = self.declared_length  # type: ignore[attr-defined]
        return uploaded


class AnyAccept(BaseContentNegotiation):
    """Audio views answer audio or the JSON error envelope whatever ``Accept`` says: a media
    element's ``Accept: audio/*`` must get the envelope of a 404 or 410, not a 406."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


def _refusal(code: str, message: str, http_status: int) -> Response:
    return Response(error_body(code, message), status=http_status)


class RecordingListApi(GenericAPIView):
    """``GET /api/recordings/?call_id=&date_from=&date_to=&agent=&ani=&customer=&queue=&disposition=&has_ticket=``
    → paginated ``{"count", "next", "previous", "results": [{"id", "call_id", "agent", "started_at",
    "duration_s", "size", "sha256"}]}``, the recordings the user may hear, newest first.

    ``POST`` (the switch; multipart ``call_id``, ``started_at``, ``file``, optional ``masked``) →
    201 with the recording; the same file for the same call again → 200 with the existing one."""

    serializer_class = RecordingSerializer
    queryset = Recording.objects.none()  # for the schema only

    def get_permissions(self) -> list[Any]:
        roles = access.UPLOADERS if self.request.method == "POST" else access.READERS
        return [roles_allowed(*roles)()]

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        if request.method == "POST":
            request.upload_handlers = [RecordingUploadHandler(request)]
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(parameters=[RecordingListQuery], responses={200: RecordingSerializer(many=True)})
    def get(self, request: Request) -> Response:
        query = _input(RecordingListQuery, request.query_params)
        filters = selectors.RecordingFilter(
            call_id=query.get("call_id") or "",
            date_from=query.get("date_from"),
            date_to=query.get("date_to"),
            agent=query.get("agent") or "",
            ani=query.get("ani") or "",
            customer=query.get("customer"),
            queue=query.get("queue") or "",
            disposition=query.get("disposition") or "",
            has_ticket=query.get("has_ticket"),
        )
        page = self.paginate_queryset(selectors.recordings_for(request.user, filters))
        return self.get_paginated_response(RecordingSerializer(page, many=True).data)

    @extend_schema(
        request={"multipart/form-data": RecordingUploadInput},
        responses={201: RecordingDetailSerializer, 200: RecordingDetailSerializer},
    )
    def post(self, request: Request) -> Response:
        try:
            declared_total = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared_total = 0
        if declared_total > settings.RECORDINGS_MAX_BYTES + MULTIPART_SLACK:
            return _refusal("too_large", _("The file is larger than the recordings' size limit."), 413)
        try:
            data = request.data
        except UnreadablePostError:
            return _refusal("length_mismatch", _("The request body ended before its declared length."), 400)
        handler = next((h for h in request.upload_handlers if isinstance(h, RecordingUploadHandler)), None)
        if handler is not None and getattr(handler, "too_large", False):
            return _refusal("too_large", _("The file is larger than the recordings' size limit."), 413)
        stream = getattr(request._request, "_stream", None)
        if isinstance(stream, LimitedStream) and getattr(stream, "_pos", stream.limit) < stream.limit:
            # The body ended before its Content-Length: the file is cut short.
            return _refusal("length_mismatch", _("The request body ended before its declared length."), 400)
        params = _input(RecordingUploadInput, data)
        upload = params["file"]
        declared = getattr(upload, "declared_length", None)
        if declared is not None and declared != upload.size:
            return _refusal("length_mismatch", _("The file part's Content-Length is not its size."), 400)
        try:
            result = services.recording_ingest(
                call_id=params["call_id"],
                started_at=params["started_at"],
                content=upload,
                actor=staff_user(request),
                masked=params.get("masked"),
                sha256=getattr(upload, "sha256", None),
            )
        finally:
            upload.close()
        return Response(
            RecordingDetailSerializer(result.recording).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class RecordingDetailApi(GenericAPIView):
    """``GET /api/recordings/{id}/``: one recording (404 outside the user's scope)."""

    permission_classes = [roles_allowed(*access.READERS)]
    serializer_class = RecordingDetailSerializer
    queryset = Recording.objects.none()

    def get(self, request: Request, recording_id: int) -> Response:
        recording = selectors.recording_get(user=request.user, recording_id=recording_id)
        return Response(RecordingDetailSerializer(recording).data)


class RecordingAudioApi(GenericAPIView):
    """``GET /api/recordings/{id}/audio/``: the audio, with HTTP Range (206, 416); 410 ``purged``
    once the file is gone. One audit row ``recording.play`` per playback (docs/recordings.md)."""

    permission_classes = [roles_allowed(*access.READERS)]
    content_negotiation_class = AnyAccept
    queryset = Recording.objects.none()

    @extend_schema(
        responses={
            (200, "audio/wav"): OpenApiResponse(description="The whole file"),
            (206, "audio/wav"): OpenApiResponse(
                description="The requested byte range (a bad or unsatisfiable Range is 416 with "
                "`Content-Range: bytes */size` and no body)"
            ),
        }
    )
    def get(self, request: Request, recording_id: int) -> HttpResponseBase:
        recording = selectors.recording_get(user=request.user, recording_id=recording_id)
        return services.audio_response(request, recording)


class RecordingDownloadApi(GenericAPIView):
    """``GET /api/recordings/{id}/download/``: the file as an attachment (director, maintainer,
    team leads); every download audited."""

    permission_classes = [roles_allowed(*access.READERS)]
    content_negotiation_class = AnyAccept
    queryset = Recording.objects.none()

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(description="The file")})
    def get(self, request: Request, recording_id: int) -> HttpResponseBase:
        recording = selectors.recording_get(user=request.user, recording_id=recording_id)
        return services.download_response(request, recording)


class RecordingLegalHoldApi(GenericAPIView):
    """``POST /api/recordings/{id}/legal-hold/`` ``{"hold": true|false, "reason"}`` (director,
    maintainer; a reason always, audited) → the recording."""

    permission_classes = [roles_allowed(*access.HOLDERS)]
    serializer_class = RecordingDetailSerializer
    queryset = Recording.objects.none()

    @extend_schema(request=LegalHoldInput, responses={200: RecordingDetailSerializer})
    def post(self, request: Request, recording_id: int) -> Response:
        recording = selectors.recording_get(user=request.user, recording_id=recording_id)
        data = _input(LegalHoldInput, request.data)
        recording = services.recording_legal_hold_set(
            recording=recording, actor=staff_user(request), hold=data["hold"], reason=data["reason"], request=request
        )
        return Response(RecordingDetailSerializer(recording).data)


class RecordingPauseApi(GenericAPIView):
    """``POST /api/recordings/pause/`` ``{"call_id", "state": "pause"|"resume"}`` (the agent on
    the call): the recording stops while the caller says a password aloud (docs/recordings.md)."""

    permission_classes = [roles_allowed(Role.AGENT, Role.TEAM_LEAD)]
    serializer_class = PauseInput
    queryset = Recording.objects.none()

    @extend_schema(request=PauseInput, responses={200: PauseInput})
    def post(self, request: Request) -> Response:
        data = _input(PauseInput, request.data)
        state = services.recording_pause_set(call_id=data["call_id"], actor=staff_user(request), state=data["state"])
        return Response({"call_id": data["call_id"], "state": state})
