"""The reports' rollups: sums per 30-minute interval, kept up to date as calls change
(``reports.rollups``). Every column of ``CallInterval`` is one of ``reports.kpi.CALL_SUMS``: a
period's figures are the sum of its intervals' rows, computed by the same ``call_kpis_from`` as
the figures over raw calls. Rows are derived data: ``reports_rebuild`` recomputes any range from
the calls, agents' state log and IVR calls, which remain the record.

The dimensions are plain ids, not foreign keys (a rollup must never block deleting or merging
a queue or a user; 0 = none): ``queue_id`` is the call's service queue, ``agent_id`` the agent
who took it.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CallSums(models.Model):
    """The sums of ``reports.kpi.CALL_SUMS`` (and ``CALL_MAXIMA``) of a set of calls."""

    queue_id = models.IntegerField(_("queue"), default=0)
    agent_id = models.IntegerField(_("agent"), default=0)
    offered = models.IntegerField(_("offered"), default=0)
    answered = models.IntegerField(_("answered"), default=0)
    answered_in_t = models.IntegerField(_("answered within the threshold"), default=0)
    abandoned = models.IntegerField(_("abandoned"), default=0)
    short_abandoned = models.IntegerField(_("short abandons"), default=0)
    wait_ms = models.BigIntegerField(_("wait of answered calls (ms)"), default=0)
    abandoned_wait_ms = models.BigIntegerField(_("wait of abandoned calls (ms)"), default=0)
    handled = models.IntegerField(_("handled"), default=0)
    talk_ms = models.BigIntegerField(_("talk (ms)"), default=0)
    hold_ms = models.BigIntegerField(_("hold (ms)"), default=0)
    acw_ms = models.BigIntegerField(_("after-call work (ms)"), default=0)
    held = models.IntegerField(_("held"), default=0)
    transferred = models.IntegerField(_("transferred"), default=0)
    callback_offered = models.IntegerField(_("callback offered"), default=0)
    max_wait_ms = models.BigIntegerField(_("longest wait (ms)"), default=0)

    class Meta:
        abstract = True


class CallInterval(CallSums):
    """The calls first queued in a 30-minute interval, per service queue and agent."""

    start = models.DateTimeField(_("interval start"))

    class Meta:
        verbose_name = _("call interval")
        verbose_name_plural = _("call intervals")
        constraints = [
            models.UniqueConstraint(fields=["start", "queue_id", "agent_id"], name="reports_call_interval_unique")
        ]

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} q{self.queue_id} a{self.agent_id}"


class CallDay(CallSums):
    """A local day's intervals added up (months and years read 48 times fewer rows); rebuilt
    from ``CallInterval`` whenever one of its intervals is."""

    day = models.DateField(_("day"))

    class Meta:
        verbose_name = _("call day")
        verbose_name_plural = _("call days")
        constraints = [models.UniqueConstraint(fields=["day", "queue_id", "agent_id"], name="reports_call_day_unique")]

    def __str__(self) -> str:
        return f"{self.day} q{self.queue_id} a{self.agent_id}"


class AgentStateInterval(models.Model):
    """Milliseconds an agent spent in a state (and not-ready reason) within an interval, from
    the append-only state log."""

    start = models.DateTimeField(_("interval start"))
    agent_id = models.IntegerField(_("agent"))
    state = models.CharField(_("state"), max_length=10)
    reason = models.CharField(_("reason"), max_length=16, blank=True)
    ms = models.BigIntegerField(_("milliseconds"), default=0)

    class Meta:
        verbose_name = _("agent state interval")
        verbose_name_plural = _("agent state intervals")
        constraints = [
            models.UniqueConstraint(
                fields=["start", "agent_id", "state", "reason"], name="reports_agent_interval_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} a{self.agent_id} {self.state}"


class IvrInterval(models.Model):
    """IVR calls (test calls excluded) that started in an interval, by how they ended."""

    start = models.DateTimeField(_("interval start"), unique=True)
    calls = models.IntegerField(_("IVR calls"), default=0)
    self_served = models.IntegerField(_("ended in the IVR"), default=0)
    to_agent = models.IntegerField(_("asked for an agent"), default=0)
    in_progress = models.IntegerField(_("in progress"), default=0)
    auth_failures = models.IntegerField(_("authentication failures"), default=0)
    lockouts = models.IntegerField(_("lockouts"), default=0)

    class Meta:
        verbose_name = _("IVR interval")
        verbose_name_plural = _("IVR intervals")

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M}"


class IvrNodeInterval(models.Model):
    start = models.DateTimeField(_("interval start"))
    node = models.CharField(_("node"), max_length=40)
    visits = models.IntegerField(_("visits"), default=0)
    exits = models.IntegerField(_("calls ended here"), default=0)

    class Meta:
        verbose_name = _("IVR node interval")
        verbose_name_plural = _("IVR node intervals")
        constraints = [models.UniqueConstraint(fields=["start", "node"], name="reports_ivr_node_interval_unique")]

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} {self.node}"


class DirtyInterval(models.Model):
    """An interval whose call rollup is out of date: marked after a call in it changed
    (``reports.rollups.mark_dirty``), cleared by the refresh that recomputes it. The row that
    creates the mark schedules the refresh: one task per interval that became dirty."""

    start = models.DateTimeField(_("interval start"), primary_key=True)
    marked_at = models.DateTimeField(_("marked at"), auto_now_add=True)

    class Meta:
        verbose_name = _("interval to refresh")
        verbose_name_plural = _("intervals to refresh")

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M}"


class RollupMark(models.Model):
    """How far a rollup fed by time rather than by changes is final (agent states, the IVR):
    intervals before ``until`` were recomputed after they ended."""

    name = models.CharField(_("name"), max_length=20, primary_key=True)
    until = models.DateTimeField(_("complete until"))

    class Meta:
        verbose_name = _("rollup watermark")
        verbose_name_plural = _("rollup watermarks")

    def __str__(self) -> str:
        return f"{self.name} {self.until:%Y-%m-%d %H:%M}"
