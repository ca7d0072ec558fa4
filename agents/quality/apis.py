"""``/api/qa/``: quality scoring of recorded calls (issue 17 point 8).

* ``GET scorecards/`` — active scorecards with their criteria (readers and agents);
* ``GET evaluations/?agent=&status=&recording=&date_from=&date_to=&history=1`` — agents their own,
  readers all (paginated); ``POST evaluations/`` — a team lead scores a recording;
* ``GET evaluations/{id}/`` — with criteria, points, comments (``at_ms``) and the dispute;
* ``POST evaluations/{id}/acknowledge/`` and ``…/dispute/`` ``{"reason"}`` — the scored agent;
* ``POST evaluations/{id}/resolve/`` ``{"decision": "upheld|rejected", "reason", "scores"?…}`` and
  ``…/rescore/`` ``{"reason", "scores", …}`` — a team lead;
* ``GET sample/?week=YYYY-MM-DD`` (the proposals of the ISO week with that day; default last
  week) and ``POST sample/`` ``{"week"?, "per_agent"?}`` (draw now) — team leads.

Errors in the project's envelope with the codes of ``agents.quality.errors``."""

from __future__ import annotations

from datetime import date
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.pagination import StandardPagination
from core.api.serializers import InputSerializer, QuerySerializer
from org.permissions import roles_allowed, staff_user
from org.roles import Role

from . import errors, selectors, services
from .models import Evaluation, EvaluationStatus

READERS = tuple(selectors.READERS)
EVERYONE = (*READERS, Role.AGENT)


class ScoreInputSerializer(InputSerializer):
    criterion = serializers.IntegerField(min_value=1)
    points = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=1000)
    failed = serializers.BooleanField(required=False, allow_null=True)


class CommentInputSerializer(InputSerializer):
    at_ms = serializers.IntegerField(min_value=0, max_value=24 * 3600 * 1000)
    text = serializers.CharField(max_length=500)
    criterion = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class ScoringInputSerializer(InputSerializer):
    scores = ScoreInputSerializer(many=True, allow_empty=False)
    comments = CommentInputSerializer(many=True, required=False, default=list)
    summary = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class EvaluationCreateSerializer(ScoringInputSerializer):
    recording = serializers.IntegerField(min_value=1)
    scorecard = serializers.IntegerField(min_value=1)


class RescoreSerializer(ScoringInputSerializer):
    reason = serializers.CharField(max_length=300)


class ReasonSerializer(InputSerializer):
    reason = serializers.CharField(max_length=500)


class ResolveSerializer(InputSerializer):
    decision = serializers.ChoiceField(choices=["upheld", "rejected"])
    reason = serializers.CharField(max_length=500)
    scores = ScoreInputSerializer(many=True, required=False, allow_empty=False)
    comments = CommentInputSerializer(many=True, required=False, default=list)
    summary = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class EvaluationQuerySerializer(QuerySerializer):
    agent = serializers.CharField(required=False, allow_blank=True, max_length=150)
    status = serializers.ChoiceField(choices=EvaluationStatus.choices, required=False)
    recording = serializers.IntegerField(required=False, min_value=1)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    history = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("date_from")) != bool(attrs.get("date_to")):
            raise serializers.ValidationError({"date_to": ["give both date_from and date_to"]})
        if attrs.get("date_from") and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_to": ["date_to is before date_from"]})
        return attrs


class SampleQuerySerializer(QuerySerializer):
    week = serializers.DateField(required=False)


class SampleRequestSerializer(InputSerializer):
    week = serializers.DateField(required=False)
    per_agent = serializers.IntegerField(required=False, min_value=1, max_value=20, default=3)


def _get(request: Request, pk: int) -> Evaluation:
    evaluation = selectors.evaluation_get(request.user, pk)
    if evaluation is None:
        raise errors.EvaluationNotFound()
    return evaluation


def _detail(evaluation: Evaluation) -> dict[str, Any]:
    return selectors.evaluation_payload(evaluation, detail=True)


class ScorecardListApi(APIView):
    permission_classes = [roles_allowed(*EVERYONE)]

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        results = []
        for scorecard in selectors.scorecards_active():
            version = selectors.scorecard_latest_version(scorecard)
            results.append(
                {
                    "id": scorecard.pk,
                    "name": scorecard.name,
                    "description": scorecard.description,
                    "version": version.number if version else None,
                    "criteria": [
                        {
                            "id": c.pk,
                            "order": c.order,
                            "name": c.name,
                            "description": c.description,
                            "max_points": c.max_points,
                            "weight": str(c.weight),
                            "fatal": c.fatal,
                        }
                        for c in scorecard.criteria.all()
                    ],
                }
            )
        return Response({"results": results})


class EvaluationListApi(APIView):
    def get_permissions(self) -> list[BasePermission]:
        roles = (Role.TEAM_LEAD,) if self.request.method == "POST" else (*EVERYONE,)
        return [roles_allowed(*roles)()]

    @extend_schema(operation_id="qa_evaluations_list", parameters=[EvaluationQuerySerializer], responses={200: dict})
    def get(self, request: Request) -> Response:
        query = EvaluationQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        rows = selectors.evaluation_list(
            request.user,
            agent=data.get("agent") or "",
            status=data.get("status") or "",
            recording=data.get("recording"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            current_only=not data.get("history"),
        )
        paginator = StandardPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response([selectors.evaluation_payload(e) for e in page or []])

    @extend_schema(request=EvaluationCreateSerializer, responses={201: dict})
    def post(self, request: Request) -> Response:
        body = EvaluationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        evaluation = services.evaluation_submit(
            recording_id=data["recording"],
            scorecard_id=data["scorecard"],
            scorer=staff_user(request),
            scores=data["scores"],
            comments=data["comments"],
            summary=data["summary"],
        )
        return Response(_detail(evaluation), status=status.HTTP_201_CREATED)


class EvaluationDetailApi(APIView):
    permission_classes = [roles_allowed(*EVERYONE)]

    @extend_schema(responses={200: dict})
    def get(self, request: Request, pk: int) -> Response:
        return Response(_detail(_get(request, pk)))


class EvaluationAcknowledgeApi(APIView):
    permission_classes = [roles_allowed(Role.AGENT, Role.TEAM_LEAD)]

    @extend_schema(request=None, responses={200: dict})
    def post(self, request: Request, pk: int) -> Response:
        _get(request, pk)
        evaluation = services.evaluation_acknowledge(evaluation_id=pk, agent=staff_user(request))
        return Response(_detail(evaluation))


class EvaluationDisputeApi(APIView):
    permission_classes = [roles_allowed(Role.AGENT, Role.TEAM_LEAD)]

    @extend_schema(request=ReasonSerializer, responses={200: dict})
    def post(self, request: Request, pk: int) -> Response:
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        _get(request, pk)
        dispute = services.evaluation_dispute(
            evaluation_id=pk, agent=staff_user(request), reason=body.validated_data["reason"]
        )
        return Response(_detail(dispute.evaluation))


class EvaluationResolveApi(APIView):
    permission_classes = [roles_allowed(Role.TEAM_LEAD)]

    @extend_schema(request=ResolveSerializer, responses={200: dict})
    def post(self, request: Request, pk: int) -> Response:
        body = ResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        _get(request, pk)
        evaluation = services.dispute_resolve(
            evaluation_id=pk,
            actor=staff_user(request),
            upheld=data["decision"] == "upheld",
            reason=data["reason"],
            scores=data.get("scores"),
            comments=data["comments"],
            summary=data["summary"],
        )
        return Response(_detail(evaluation))


class EvaluationRescoreApi(APIView):
    permission_classes = [roles_allowed(Role.TEAM_LEAD)]

    @extend_schema(request=RescoreSerializer, responses={201: dict})
    def post(self, request: Request, pk: int) -> Response:
        body = RescoreSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        _get(request, pk)
        evaluation = services.evaluation_rescore(
            evaluation_id=pk,
            scorer=staff_user(request),
            scores=data["scores"],
            comments=data["comments"],
            summary=data["summary"],
            reason=data["reason"],
        )
        return Response(_detail(evaluation), status=status.HTTP_201_CREATED)


def _proposal_payload(week_start: date, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "week": week_start.isoformat(),
        "results": [
            {
                "agent": row["agent"].get_username(),
                "recording": row["recording_id"],
                "evaluation": row["evaluation_id"],
            }
            for row in rows
        ],
    }


class SampleApi(APIView):
    permission_classes = [roles_allowed(Role.TEAM_LEAD)]

    @extend_schema(parameters=[SampleQuerySerializer], responses={200: dict})
    def get(self, request: Request) -> Response:
        query = SampleQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        week = services.iso_week_start(query.validated_data.get("week") or services.last_week())
        work = selectors.worklist(staff_user(request), week_start=week, everyone=True)
        return Response(_proposal_payload(week, work["proposals"]))

    @extend_schema(request=SampleRequestSerializer, responses={201: dict})
    def post(self, request: Request) -> Response:
        body = SampleRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        week = services.iso_week_start(data.get("week") or services.last_week())
        created = services.sample_propose(week_start=week, per_agent=data["per_agent"], actor=staff_user(request))
        work = selectors.worklist(staff_user(request), week_start=week, everyone=True)
        return Response(
            {**_proposal_payload(week, work["proposals"]), "proposed": len(created)}, status=status.HTTP_201_CREATED
        )
