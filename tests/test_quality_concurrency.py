"""Quality scoring under real concurrency on PostgreSQL (threads, one connection each): a
recording scored by several leads at once is scored once, an evaluation disputed from several
tabs at once is disputed once, a re-score raced by two leads makes one new revision; the
append-only tables refuse a raw UPDATE."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from agents.quality import errors, services
from agents.quality.models import Criterion, Dispute, Evaluation, Scorecard
from calls.models import Call
from calls.recordings.models import Recording
from org.roles import Role
from tests.factories import make_staff

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
THREADS = 6


def run_threads(target, count: int = THREADS) -> list[BaseException]:
    failures: list[BaseException] = []
    barrier = threading.Barrier(count)

    def worker(index: int) -> None:
        try:
            barrier.wait()
            target(index)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return failures


@pytest.fixture
def setup():
    agent = make_staff(Role.AGENT, username="race-agent")
    leads = [make_staff(Role.TEAM_LEAD, username=f"race-lead-{n}") for n in range(THREADS)]
    call = Call.objects.create(call_id="race-call")
    rec = Recording.objects.create(
        call=call,
        agent=agent,
        started_at=timezone.now() - timedelta(hours=1),
        duration_ms=60_000,
        size=1,
        format="wav_pcm",
        sha256="0" * 64,
        storage_name="race/1.wav",
        seq=1,
        prev_hash="0" * 64,
        row_hash="0" * 64,
    )
    sc = Scorecard.objects.create(name="race")
    criterion = Criterion.objects.create(scorecard=sc, name="a", max_points=10, weight=Decimal(1))
    return {"agent": agent, "leads": leads, "recording": rec, "scorecard": sc, "criterion": criterion}


def scores(setup, points: int) -> list[dict]:
    return [{"criterion": setup["criterion"].pk, "points": points}]


def outcome(failures: list[BaseException]) -> Counter:
    return Counter(getattr(exc, "code", type(exc).__name__) for exc in failures)


def test_a_recording_scored_by_several_leads_at_once_is_scored_once(setup):
    def score(index: int) -> None:
        services.evaluation_submit(
            recording_id=setup["recording"].pk,
            scorecard_id=setup["scorecard"].pk,
            scorer=setup["leads"][index],
            scores=scores(setup, index + 1),
        )

    failures = run_threads(score)
    assert outcome(failures) == Counter({"already_scored": THREADS - 1})
    assert Evaluation.objects.filter(is_current=True).count() == 1


def test_an_evaluation_disputed_from_several_tabs_is_disputed_once(setup):
    evaluation = services.evaluation_submit(
        recording_id=setup["recording"].pk,
        scorecard_id=setup["scorecard"].pk,
        scorer=setup["leads"][0],
        scores=scores(setup, 3),
    )

    def dispute(index: int) -> None:
        services.evaluation_dispute(evaluation_id=evaluation.pk, agent=setup["agent"], reason=f"tab {index}")

    failures = run_threads(dispute)
    assert outcome(failures) == Counter({"already_disputed": THREADS - 1})
    assert Dispute.objects.count() == 1


def test_two_leads_re_scoring_at_once_make_one_revision(setup):
    evaluation = services.evaluation_submit(
        recording_id=setup["recording"].pk,
        scorecard_id=setup["scorecard"].pk,
        scorer=setup["leads"][0],
        scores=scores(setup, 3),
    )

    def rescore(index: int) -> None:
        services.evaluation_rescore(
            evaluation_id=evaluation.pk, scorer=setup["leads"][index], scores=scores(setup, 9), reason="race"
        )

    failures = run_threads(rescore, count=2)
    assert outcome(failures) == Counter({"evaluation_superseded": 1})
    assert sorted(Evaluation.objects.values_list("revision", "is_current")) == [(1, False), (2, True)]


def test_the_append_only_tables_refuse_a_raw_update(setup):
    services.evaluation_submit(
        recording_id=setup["recording"].pk,
        scorecard_id=setup["scorecard"].pk,
        scorer=setup["leads"][0],
        scores=scores(setup, 3),
        comments=[{"at_ms": 1000, "text": "x"}],
    )
    for table in ("agents_criterionscore", "agents_evaluationcomment", "agents_scorecardversion"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET id = id")  # noqa: S608 - fixed table names
    assert errors.AlreadyScored.code == "already_scored"
