"""Thin Celery tasks of the agents app."""

from celery import shared_task


@shared_task(name="agents.roster_solve", soft_time_limit=280, time_limit=300, ignore_result=True)
def roster_solve(roster_id: int) -> str:
    from .scheduling.services import roster_solve as solve

    return solve(roster_id=roster_id).status


from .quality.tasks import qa_sample_weekly  # noqa: E402, F401  (beat: agents-qa-sample)
