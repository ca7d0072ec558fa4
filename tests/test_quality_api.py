"""Quality scoring end to end through ``/api/qa/`` and the pages, on real recording rows read
through the call side's port (``calls.recordings.qa_side``): who may score and read what, the
dispute-once rule over the API, the averages in the reports and on the agent's own figures."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from agents.quality import recording_port
from agents.quality.models import Criterion, Evaluation, Scorecard, Team, TeamMember
from audit.models import AuditEvent
from calls.models import Call
from calls.recordings.models import Recording
from org.roles import Role
from tests.factories import make_staff

pytestmark = pytest.mark.django_db
_seq = count(1)


def recording(agent, *, started_at=None, duration_ms: int = 90_000) -> Recording:
    n = next(_seq)
    call = Call.objects.create(call_id=f"qa-call-{n}-{Recording.objects.count()}")
    return Recording.objects.create(
        call=call,
        agent=agent,
        started_at=started_at or timezone.now() - timedelta(hours=1),
        duration_ms=duration_ms,
        size=1000,
        format="wav_pcm",
        sha256="0" * 64,
        storage_name=f"qa-test/{call.call_id}.wav",
        seq=10_000 + n + Recording.objects.count(),
        prev_hash="0" * 64,
        row_hash="0" * 64,
        peaks=[10, 200, 30],
        masked_segments=[{"start_ms": 1000, "end_ms": 2000, "reason": "password"}],
    )


@pytest.fixture
def api_for():
    """A client of its own per user (the shared ``api_client`` would switch users under a test)."""

    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def people():
    lead = make_staff(Role.TEAM_LEAD, username="qa-lead1")
    agent = make_staff(Role.AGENT, username="qa-agent1")
    other = make_staff(Role.AGENT, username="qa-agent2")
    team = Team.objects.create(name="一组", lead=lead)
    TeamMember.objects.create(team=team, agent=agent)
    return {
        "lead": lead,
        "lead2": make_staff(Role.TEAM_LEAD, username="qa-lead2"),
        "agent": agent,
        "other": other,
        "director": make_staff(Role.DIRECTOR, username="qa-director"),
        "unit": make_staff(Role.UNIT_STAFF, username="qa-branch"),
    }


@pytest.fixture
def scorecard():
    sc = Scorecard.objects.create(name="默认")
    for order, (name, weight, fatal) in enumerate(
        [("开场白规范", "1", False), ("业务解答准确", "2", False), ("泄露客户信息", "0", True)]
    ):
        Criterion.objects.create(
            scorecard=sc, order=order, name=name, max_points=10, weight=Decimal(weight), fatal=fatal
        )
    return sc


def body(sc: Scorecard, rec: Recording, *, opening=10, answer=5, leak=False, **extra):
    ids = {c.name: c.pk for c in sc.criteria.all()}
    return {
        "recording": rec.pk,
        "scorecard": sc.pk,
        "scores": [
            {"criterion": ids["开场白规范"], "points": opening},
            {"criterion": ids["业务解答准确"], "points": answer},
            {"criterion": ids["泄露客户信息"], "failed": leak},
        ],
        "comments": [{"at_ms": 4_000, "text": "没有报工号"}],
        **extra,
    }


def test_the_call_side_is_plugged_in_and_describes_the_recording(people):
    rec = recording(people["agent"])
    summary = recording_port.recording_side().summary(rec.pk)
    assert summary["agent_id"] == people["agent"].pk and summary["call_id"] == rec.call.call_id
    assert summary["duration_s"] == 90.0 and summary["peaks"] == [10, 200, 30]
    assert summary["masked"][0]["reason"] == "password"
    assert summary["audio_url"].endswith(f"/{rec.pk}/audio/") and summary["page_url"].endswith(f"/{rec.pk}/")
    assert recording_port.recording_side().may_play(people["agent"], rec.pk)
    assert not recording_port.recording_side().may_play(people["other"], rec.pk)


def test_a_lead_scores_and_the_total_is_the_weighted_percentage(api_for, people, scorecard):
    rec = recording(people["agent"])
    response = api_for(people["lead"]).post("/api/qa/evaluations/", body(scorecard, rec), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    # (1·10/10 + 2·5/10) / 3 = 2/3
    assert data["score"] == "66.67" and data["fatal_failed"] is False and data["agent"] == "qa-agent1"
    assert data["comments"] == [{"at_ms": 4000, "text": "没有报工号", "criterion": None}]
    assert [c["points"] for c in data["criteria"]] == [10, 5, None]
    again = api_for(people["lead"]).post("/api/qa/evaluations/", body(scorecard, rec), format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_scored"
    assert AuditEvent.objects.filter(action="qa.evaluation_submitted", object_id=str(data["id"])).count() == 1


def test_a_failed_fatal_item_scores_zero_over_the_api(api_for, people, scorecard):
    rec = recording(people["agent"])
    data = api_for(people["lead"]).post("/api/qa/evaluations/", body(scorecard, rec, leak=True), format="json").json()
    assert (data["score"], data["raw_score"], data["fatal_failed"]) == ("0.00", "66.67", True)


@pytest.mark.parametrize("who", ["agent", "director", "unit"])
def test_only_team_leads_score(api_for, people, scorecard, who):
    rec = recording(people["other"])
    response = api_for(people[who]).post("/api/qa/evaluations/", body(scorecard, rec), format="json")
    assert response.status_code == 403 and response.json()["error"]["code"]
    assert not Evaluation.objects.exists()


def test_bad_bodies_are_coded_errors(api_for, people, scorecard):
    rec = recording(people["agent"])
    client = api_for(people["lead"])
    too_many = body(scorecard, rec, opening=11)
    assert client.post("/api/qa/evaluations/", too_many, format="json").json()["error"]["code"] == "invalid_scores"
    late = body(scorecard, rec)
    late["comments"] = [{"at_ms": 90_001, "text": "after the end"}]
    assert client.post("/api/qa/evaluations/", late, format="json").json()["error"]["code"] == "invalid_comment"
    missing = body(scorecard, rec)
    missing["recording"] = rec.pk + 10_000
    response = client.post("/api/qa/evaluations/", missing, format="json")
    assert response.status_code == 404 and response.json()["error"]["code"] == "recording_not_found"
    unknown = {**body(scorecard, rec), "colour": "red"}
    assert client.post("/api/qa/evaluations/", unknown, format="json").status_code == 400
    assert client.get("/api/qa/evaluations/?date_from=2026-01-02").status_code == 400


def test_agents_see_their_own_evaluations_only(api_for, people, scorecard):
    mine = (
        api_for(people["lead"])
        .post("/api/qa/evaluations/", body(scorecard, recording(people["agent"])), format="json")
        .json()
    )
    theirs = (
        api_for(people["lead"])
        .post("/api/qa/evaluations/", body(scorecard, recording(people["other"])), format="json")
        .json()
    )
    listed = api_for(people["agent"]).get("/api/qa/evaluations/").json()
    assert [row["id"] for row in listed["results"]] == [mine["id"]]
    assert api_for(people["agent"]).get(f"/api/qa/evaluations/{mine['id']}/").status_code == 200
    hidden = api_for(people["agent"]).get(f"/api/qa/evaluations/{theirs['id']}/")
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "evaluation_not_found"
    everyone = api_for(people["director"]).get("/api/qa/evaluations/").json()
    assert {row["id"] for row in everyone["results"]} == {mine["id"], theirs["id"]}
    assert api_for(people["unit"]).get("/api/qa/evaluations/").status_code == 403
    other_dispute = api_for(people["other"]).post(
        f"/api/qa/evaluations/{mine['id']}/dispute/", {"reason": "x"}, format="json"
    )
    assert other_dispute.status_code == 404
    lead_ack = api_for(people["lead2"]).post(f"/api/qa/evaluations/{mine['id']}/acknowledge/", format="json")
    assert lead_ack.status_code == 403 and lead_ack.json()["error"]["code"] == "not_your_evaluation"


def test_acknowledge_dispute_once_and_resolve_over_the_api(api_for, people, scorecard):
    lead = api_for(people["lead"])
    created = lead.post("/api/qa/evaluations/", body(scorecard, recording(people["agent"])), format="json").json()
    pk = created["id"]
    agent = api_for(people["agent"])
    assert agent.post(f"/api/qa/evaluations/{pk}/acknowledge/", format="json").json()["status"] == "acknowledged"
    again = agent.post(f"/api/qa/evaluations/{pk}/acknowledge/", format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_acknowledged"
    no_reason = agent.post(f"/api/qa/evaluations/{pk}/dispute/", {}, format="json")
    assert no_reason.status_code == 400
    disputed = agent.post(f"/api/qa/evaluations/{pk}/dispute/", {"reason": "客户先挂断"}, format="json")
    assert disputed.status_code == 200 and disputed.json()["status"] == "disputed"
    twice = agent.post(f"/api/qa/evaluations/{pk}/dispute/", {"reason": "再次"}, format="json")
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_disputed"
    not_agent = agent.post(f"/api/qa/evaluations/{pk}/resolve/", {"decision": "rejected", "reason": "x"}, format="json")
    assert not_agent.status_code == 403
    new_scores = body(scorecard, recording(people["agent"]), answer=10)["scores"]
    upheld = api_for(people["lead"]).post(
        f"/api/qa/evaluations/{pk}/resolve/",
        {"decision": "upheld", "reason": "有道理", "scores": new_scores},
        format="json",
    )
    assert upheld.status_code == 200, upheld.content
    new = upheld.json()
    assert (new["revision"], new["score"], new["supersedes"]) == (2, "100.00", pk)
    old = agent.get(f"/api/qa/evaluations/{pk}/").json()
    assert old["status"] == "superseded" and old["dispute"]["status"] == "upheld"
    once = agent.post(f"/api/qa/evaluations/{new['id']}/dispute/", {"reason": "还是不对"}, format="json")
    assert once.status_code == 409 and once.json()["error"]["code"] == "already_disputed"
    history = agent.get("/api/qa/evaluations/?history=1").json()["results"]
    assert sorted(row["revision"] for row in history) == [1, 2]
    assert [row["revision"] for row in agent.get("/api/qa/evaluations/").json()["results"]] == [2]


def test_scorecards_and_the_sample_over_the_api(api_for, people, scorecard):
    cards = api_for(people["agent"]).get("/api/qa/scorecards/").json()["results"]
    assert [c["name"] for c in cards] == ["默认"] and [c["fatal"] for c in cards[0]["criteria"]] == [False, False, True]
    for hours in range(4):
        recording(people["agent"], started_at=timezone.now() - timedelta(days=1, hours=hours))
    today = timezone.localdate()
    response = api_for(people["lead"]).post(
        "/api/qa/sample/", {"week": today.isoformat(), "per_agent": 2}, format="json"
    )
    assert response.status_code == 201
    week = response.json()["week"]
    listed = api_for(people["lead"]).get(f"/api/qa/sample/?week={week}").json()["results"]
    # yesterday may fall in last ISO week on a Monday: whichever week, the proposals are that week's
    yesterday_week = today - timedelta(days=today.weekday())
    if (today - timedelta(days=1)) >= yesterday_week:
        assert len(listed) == 2 and {row["agent"] for row in listed} == {"qa-agent1"}
    assert api_for(people["agent"]).get("/api/qa/sample/").status_code == 403


def test_the_port_unregistered_is_a_clear_api_error(api_for, people, scorecard):
    rec = recording(people["agent"])
    before = recording_port.registered()
    recording_port.unregister()
    try:
        response = api_for(people["lead"]).post("/api/qa/evaluations/", body(scorecard, rec), format="json")
    finally:
        recording_port.register(before)
    assert response.status_code == 503 and response.json()["error"]["code"] == "recording_port_unregistered"


# --- pages, reports, the agent's figures ------------------------------------------------------


def test_the_scoring_form_submits_and_the_evaluation_page_shows_markers(client_for, people, scorecard):
    rec = recording(people["agent"])
    client = client_for(people["lead"])
    page = client.get(f"/agent/qa/recordings/{rec.pk}/score/")
    html = page.content.decode()
    assert page.status_code == 200 and 'class="recording-player"' in html and "recording-player.js" in html
    assert f"/recordings/{rec.pk}/" in html
    ids = {c.name: c.pk for c in scorecard.criteria.all()}
    posted = client.post(
        f"/agent/qa/recordings/{rec.pk}/score/",
        {
            "scorecard": scorecard.pk,
            f"points_{ids['开场白规范']}": "10",
            f"points_{ids['业务解答准确']}": "10",
            "comment_at": ["0:07", ""],
            "comment_text": ["很好", ""],
        },
    )
    assert posted.status_code == 302, posted.content.decode()[:2000]
    evaluation = Evaluation.objects.get()
    assert evaluation.score == Decimal("100.00") and list(evaluation.comments.values_list("at_ms", flat=True)) == [7000]
    detail = client_for(people["agent"]).get(f"/agent/qa/evaluations/{evaluation.pk}/").content.decode()
    assert "很好" in detail and "&quot;time&quot;: 7.0" in detail and 'id="qa-acknowledge"' in detail
    ack = client_for(people["agent"]).post(f"/agent/qa/evaluations/{evaluation.pk}/", {"action": "acknowledge"})
    assert ack.status_code == 302
    evaluation.refresh_from_db()
    assert evaluation.status == "acknowledged"
    assert client_for(people["agent"]).get(f"/agent/qa/recordings/{rec.pk}/score/").status_code == 403


def test_the_work_list_shows_the_proposals_and_my_scores_page_the_average(client_for, people, scorecard):
    from agents.quality import services

    rec = recording(people["agent"], started_at=timezone.now() - timedelta(days=7))
    week = services.iso_week_start(timezone.localtime(rec.started_at).date())
    services.sample_propose(week_start=week, per_agent=1)
    page = client_for(people["lead"]).get(f"/agent/qa/?week={week.isoformat()}").content.decode()
    assert f"/agent/qa/recordings/{rec.pk}/score/" in page
    ids = {c.name: c.pk for c in scorecard.criteria.all()}
    services.evaluation_submit(
        recording_id=rec.pk,
        scorecard_id=scorecard.pk,
        scorer=people["lead"],
        scores=[
            {"criterion": ids["开场白规范"], "points": 5},
            {"criterion": ids["业务解答准确"], "points": 5},
            {"criterion": ids["泄露客户信息"], "failed": False},
        ],
    )
    mine = client_for(people["agent"]).get("/agent/qa/mine/").content.decode()
    assert 'id="qa-my-average">50.00%' in mine
    assert client_for(people["agent"]).get("/agent/qa/").status_code == 403


def test_the_reports_show_the_averages_per_agent_and_team(client_for, people, scorecard):
    from agents.quality import services
    from agents.quality.selectors import qa_averages

    ids = {c.name: c.pk for c in scorecard.criteria.all()}

    def score(agent, opening, answer, leak=False):
        services.evaluation_submit(
            recording_id=recording(agent).pk,
            scorecard_id=scorecard.pk,
            scorer=people["lead"],
            scores=[
                {"criterion": ids["开场白规范"], "points": opening},
                {"criterion": ids["业务解答准确"], "points": answer},
                {"criterion": ids["泄露客户信息"], "failed": leak},
            ],
        )

    score(people["agent"], 10, 10)  # 100
    score(people["agent"], 10, 0)  # 33.33
    score(people["agent"], 10, 10, leak=True)  # 0
    score(people["other"], 5, 5)  # 50
    today = timezone.localdate()
    figures = qa_averages(today - timedelta(days=1), today)
    by_agent = {row["agent"]: row for row in figures["agents"]}
    assert by_agent["qa-agent1"]["average"] == Decimal("44.44") and by_agent["qa-agent1"]["fatal"] == 1
    assert by_agent["qa-agent1"]["team"] == "一组" and by_agent["qa-agent2"]["team"] == ""
    assert [(t["team"], t["average"]) for t in figures["teams"]] == [("一组", Decimal("44.44")), ("", Decimal("50.00"))]
    assert figures["total"]["average"] == Decimal("45.83")
    # The period of the figures above (the recordings started an hour ago: yesterday, just after
    # midnight local time — "today" alone failed a CI run at 00:14).
    page = client_for(people["lead"]).get(f"/reports/quality/?date_from={today - timedelta(days=1)}&date_to={today}")
    html = page.content.decode()
    assert page.status_code == 200 and "44.4" in html and "一组" in html
    me = client_for(people["agent"]).get("/reports/me/today/").content.decode()
    assert 'id="my-qa-average">44.44%' in me


def test_the_recordings_search_filters_by_a_quality_score(api_for, client_for, people, scorecard):
    scored, unscored = recording(people["agent"]), recording(people["agent"])
    assert (
        api_for(people["lead"]).post("/api/qa/evaluations/", body(scorecard, scored), format="json").status_code == 201
    )
    client = client_for(people["lead"])

    def ids(qa: str) -> set[int]:
        page = client.get("/recordings/", {"qa": qa}).content.decode()
        return {rec.pk for rec in (scored, unscored) if f"/recordings/{rec.pk}/" in page}

    assert ids("scored") == {scored.pk}
    assert ids("unscored") == {unscored.pk}
    assert ids("") == {scored.pk, unscored.pk}
