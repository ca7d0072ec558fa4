"""IVR APIs: the switch's call API (JSON and VoiceXML), prompt audio, the simulator's session
endpoints (same services as the switch), menu versions for the maintainer, statistics."""

from __future__ import annotations

import shutil
import uuid
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.http import FileResponse, HttpResponse, HttpResponseBase
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.telephony import CallIdInPath
from core.errors import Forbidden, NotFound
from org.permissions import roles_allowed, staff_user
from org.roles import Role
from org.scoping import user_role

from . import selectors, services, tts, vxml
from .errors import CallNotFound, MenuVersionNotFound
from .menu import menu_from_tree, validate_menu
from .models import IvrCall, IvrEvent, MenuVersion
from .selectors import menu_for_call
from .serializers import (
    CallEventSerializer,
    CallStartSerializer,
    MenuCreateSerializer,
    MenuTreeSerializer,
    MenuVersionSerializer,
    SimulatorStartSerializer,
    StatisticsQuerySerializer,
)

SIMULATOR_ROLES = (Role.MAINTAINER, Role.TEAM_LEAD, Role.AGENT)
# Data-bearing prompts: rendered for the one request and not kept on disk.
PERSONAL_PROMPTS = frozenset({"balance", "transactions", "transfer_confirm", "transfer_done", "loss_done"})

if TYPE_CHECKING:
    pass


def _wants_vxml(request: Request) -> bool:
    return request.query_params.get("reply") == "vxml"


def _vxml_response(call: IvrCall, actions: list[dict[str, Any]]) -> HttpResponse:
    events_url = reverse("ivr-api:call-events", kwargs={"call_id": call.call_id})
    # The menu's own words for "to an agent" before the error handlers' transfer (a published
    # menu is compiled once per process: no query).
    fallback = menu_for_call(call.version_id).prompts.get("to_agent", "")
    body = vxml.document(
        actions=actions,
        next_seq=call.last_seq + 1,
        events_url=events_url,
        ended=call.ended,
        fallback_prompt=fallback,
    )
    return HttpResponse(body, content_type=vxml.CONTENT_TYPE)


def _switch_call(call_id: str) -> IvrCall:
    """A real call (the switch never sees the simulator's test calls), else ``call_not_found``."""
    call = IvrCall.objects.filter(call_id=call_id, is_test=False).first()
    if call is None:
        raise CallNotFound()
    return call


class CallStartApi(APIView):
    """``POST /api/ivr/calls/`` ``{"call_id", "ani", "dnis"}`` → 201 ``{"call_id", "actions"}``.

    A repeated start (same call_id, ani and dnis: a retry) → 200 with the first response;
    the same call_id with other details → 409 ``call_exists``. ``?reply=vxml`` answers with the
    first step as a VoiceXML document.
    """

    permission_classes = [roles_allowed(Role.SWITCH)]

    @extend_schema(request=CallStartSerializer, responses={201: dict, 200: dict})
    def post(self, request: Request) -> HttpResponseBase:
        serializer = CallStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        response, created = services.call_start(**serializer.validated_data)
        if _wants_vxml(request):
            call = _switch_call(serializer.validated_data["call_id"])
            return _vxml_response(call, services.current_step(call)["actions"])
        return Response(response, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class CallEventApi(CallIdInPath, APIView):
    """``POST /api/ivr/calls/{call_id}/events/`` ``{"seq", "type", "digits"}`` → ``{"actions"}``."""

    permission_classes = [roles_allowed(Role.SWITCH)]

    @extend_schema(request=CallEventSerializer, responses={200: dict})
    def post(self, request: Request, call_id: str) -> HttpResponseBase:
        serializer = CallEventSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        response = services.call_event(call_id=call_id, **serializer.validated_data)
        if _wants_vxml(request):
            return _vxml_response(_switch_call(call_id), response["actions"])
        return Response(response)


class CallVxmlApi(CallIdInPath, APIView):
    """``GET /api/ivr/calls/{call_id}/vxml`` → the current step as VoiceXML 2.1."""

    permission_classes = [roles_allowed(Role.SWITCH)]

    @extend_schema(responses={(200, "application/voicexml+xml"): str})
    def get(self, request: Request, call_id: str) -> HttpResponse:
        call = _switch_call(call_id)
        return _vxml_response(call, services.current_step(call)["actions"])


class CallAudioApi(CallIdInPath, APIView):
    """``GET /api/ivr/calls/{call_id}/audio/{seq}-{index}.wav``: the WAV of one ``say`` action,
    rendered on first request. The switch hears any real call; staff only their own test calls."""

    permission_classes = [roles_allowed(Role.SWITCH, *SIMULATOR_ROLES)]

    @extend_schema(responses={(200, "audio/wav"): bytes})
    def get(self, request: Request, call_id: str, seq: str, index: str, sub: str | None = None) -> HttpResponseBase:
        seq_no, index_no = int(seq), int(index)
        sub_no = int(sub) if sub is not None else None
        calls = IvrCall.objects.filter(call_id=call_id)
        if user_role(request.user) != Role.SWITCH:
            calls = calls.filter(is_test=True, started_by=staff_user(request))
        else:
            calls = calls.filter(is_test=False)
        event = IvrEvent.objects.filter(call__in=calls, seq=seq_no).first()
        actions = event.response.get("actions", []) if event else []
        action = actions[index_no] if index_no < len(actions) else None
        if action is not None and sub_no is not None:
            hold = action.get("hold") or []
            action = hold[sub_no] if sub_no < len(hold) else None
        if action is None or action.get("type") != "say" or not action.get("text"):
            raise NotFound(_("No such prompt."), code="audio_not_found")
        try:
            if action.get("prompt") in PERSONAL_PROMPTS:
                path = tts.transient_audio(action["text"])
                try:
                    response: HttpResponseBase = HttpResponse(path.read_bytes(), content_type="audio/wav")
                finally:
                    shutil.rmtree(path.parent, ignore_errors=True)
                response["Cache-Control"] = "private, no-store"
            else:
                response = FileResponse(tts.cached_audio(action["text"]).open("rb"), content_type="audio/wav")
                response["Cache-Control"] = "private, max-age=86400"
        except tts.TtsUnavailable:
            raise NotFound(_("Prompt audio is not available; use the text."), code="audio_unavailable") from None
        return response


# --- Simulator (session-authenticated staff; the same services as the switch) ---------------------


def _simulator_state(call: IvrCall) -> dict[str, Any]:
    return {
        "call_id": call.call_id,
        "version": call.version.number,
        "version_status": call.version.status,
        "node": call.node,
        "step": call.step,
        "verified": call.verified,
        "path": call.path,
        "ended": call.ended,
        "outcome": call.outcome,
        "queue": call.queue,
        "next_seq": call.last_seq + 1,
        "is_test": call.is_test,
        # The banking writes of the latest event that were simulated, not posted ("transfer",
        # "loss_report", "password"): a test call never changes banking state.
        "simulated": list(call.data.get("simulated") or []),
    }


class SimulatorCallStartApi(APIView):
    """``POST /api/ivr/simulator/calls/`` ``{"version": id | null}``: a test call; only the
    maintainer may preview a draft or an archived version."""

    permission_classes = [roles_allowed(*SIMULATOR_ROLES)]

    @extend_schema(request=SimulatorStartSerializer, responses={201: dict})
    def post(self, request: Request) -> Response:
        serializer = SimulatorStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = None
        version_id = serializer.validated_data["version"]
        if version_id is not None:
            version = MenuVersion.objects.filter(pk=version_id).first()
            if version is None:
                raise MenuVersionNotFound()
            if version.status != MenuVersion.Status.PUBLISHED and user_role(request.user) != Role.MAINTAINER:
                raise Forbidden(_("Only the system maintainer may preview unpublished versions."))
        call_id = f"sim-{uuid.uuid4().hex}"
        response, _created = services.call_start(
            call_id=call_id, ani="simulator", dnis="", version=version, is_test=True, started_by=staff_user(request)
        )
        call = IvrCall.objects.select_related("version").get(call_id=call_id)
        return Response({**response, "state": _simulator_state(call)}, status=status.HTTP_201_CREATED)


class SimulatorCallEventApi(CallIdInPath, APIView):
    """``POST /api/ivr/simulator/calls/{call_id}/events/``: like the switch's, own test calls only."""

    permission_classes = [roles_allowed(*SIMULATOR_ROLES)]

    @extend_schema(request=CallEventSerializer, responses={200: dict})
    def post(self, request: Request, call_id: str) -> Response:
        serializer = CallEventSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        response = services.call_event(call_id=call_id, started_by=staff_user(request), **serializer.validated_data)
        call = IvrCall.objects.select_related("version").get(call_id=call_id)
        return Response({**response, "state": _simulator_state(call)})


# --- Menu versions (maintainer) -------------------------------------------------------------------


def _version_or_404(pk: int) -> MenuVersion:
    version = MenuVersion.objects.filter(pk=pk).first()
    if version is None:
        raise MenuVersionNotFound()
    return version


def _version_body(version: MenuVersion) -> dict[str, Any]:
    tree = selectors.menu_tree_of(version)
    problems = [problem.as_dict() for problem in validate_menu(menu_from_tree(tree))]
    return {**MenuVersionSerializer(version).data, "tree": tree, "problems": problems}


class MenuVersionListApi(generics.ListAPIView):
    """``GET /api/ivr/menus/`` versions, newest first; ``POST`` a new draft from a version or a tree."""

    permission_classes = [roles_allowed(Role.MAINTAINER)]
    serializer_class = MenuVersionSerializer

    def get_queryset(self) -> QuerySet[MenuVersion]:
        return selectors.menu_version_list()

    @extend_schema(request=MenuCreateSerializer, responses={201: dict})
    def post(self, request: Request) -> Response:
        serializer = MenuCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "from_version" in data:
            version = services.menu_version_copy(
                version=_version_or_404(data["from_version"]), actor=staff_user(request), note=data["note"]
            )
        else:
            version = services.menu_version_create(tree=data["tree"], actor=staff_user(request), note=data["note"])
        return Response(_version_body(version), status=status.HTTP_201_CREATED)


class MenuVersionDetailApi(APIView):
    """``GET /api/ivr/menus/{id}/`` the version with its tree and validation problems;
    ``DELETE`` discards a draft."""

    permission_classes = [roles_allowed(Role.MAINTAINER)]

    @extend_schema(responses={200: dict})
    def get(self, request: Request, pk: int) -> Response:
        return Response(_version_body(_version_or_404(pk)))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        services.menu_version_discard(version=_version_or_404(pk), actor=staff_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MenuTreeApi(APIView):
    """``PUT /api/ivr/menus/{id}/tree/`` ``{"tree"}`` replaces a draft's tree."""

    permission_classes = [roles_allowed(Role.MAINTAINER)]

    @extend_schema(request=MenuTreeSerializer, responses={200: dict})
    def put(self, request: Request, pk: int) -> Response:
        serializer = MenuTreeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = services.menu_tree_replace(
            version=_version_or_404(pk), tree=serializer.validated_data["tree"], actor=staff_user(request)
        )
        return Response(_version_body(version))


class MenuPublishApi(APIView):
    """``POST /api/ivr/menus/{id}/publish/``: 400 with the first problem's code (``dangling_target``,
    ``loop_without_exit``, ``missing_prompt`` …) and all of them under ``details``."""

    permission_classes = [roles_allowed(Role.MAINTAINER)]

    @extend_schema(request=None, responses={200: MenuVersionSerializer})
    def post(self, request: Request, pk: int) -> Response:
        version = services.menu_version_publish(version=_version_or_404(pk), actor=staff_user(request))
        return Response(MenuVersionSerializer(version).data)


class MenuRollbackApi(APIView):
    """``POST /api/ivr/menus/{id}/rollback/``: publish an archived version again."""

    permission_classes = [roles_allowed(Role.MAINTAINER)]

    @extend_schema(request=None, responses={200: MenuVersionSerializer})
    def post(self, request: Request, pk: int) -> Response:
        version = services.menu_version_rollback(version=_version_or_404(pk), actor=staff_user(request))
        return Response(MenuVersionSerializer(version).data)


# --- Statistics -----------------------------------------------------------------------------------


class StatisticsApi(APIView):
    """``GET /api/ivr/statistics/?date_from=&date_to=`` (local dates, inclusive)."""

    permission_classes = [roles_allowed(Role.DIRECTOR, Role.ANALYST, Role.MAINTAINER)]

    @extend_schema(
        parameters=[
            OpenApiParameter("date_from", str, required=True),
            OpenApiParameter("date_to", str, required=True),
        ],
        responses={200: dict},
    )
    def get(self, request: Request) -> Response:
        serializer = StatisticsQuerySerializer(data=request.query_params.dict())
        serializer.is_valid(raise_exception=True)
        return Response(selectors.ivr_statistics(**serializer.validated_data))
