"""Quality scoring's periodic work: the weekly sample (``CELERY_BEAT_SCHEDULE`` ``agents-qa-sample``,
Mondays), a thin wrapper over ``services.sample_propose``. Registered through ``agents.tasks``."""

from celery import shared_task


@shared_task(name="agents.qa_sample_weekly", soft_time_limit=120, time_limit=150, ignore_result=True)
def qa_sample_weekly(per_agent: int | None = None) -> int:
    """Propose last ISO week's sample to the leads; returns how many recordings were proposed."""
    from . import services

    count = per_agent or services.DEFAULT_SAMPLE_PER_AGENT
    return len(services.sample_propose(week_start=services.last_week(), per_agent=count))
