"""Recording tables (issue 17), imported by ``calls.models`` (app label calls).

A recording's row is its metadata; the audio sits behind Django's storage API
(``calls.recordings.storage``). Rows form a hash chain in ``seq`` order: each stores the previous
row's ``row_hash`` and its own, over the fields that never change after ingest. What may change
later — a legal hold, the purge of the file at the end of retention — is outside the chain and
audited instead.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from audit.models import AppendOnlyModel


class AudioFormat(models.TextChoices):
    WAV_PCM = "wav_pcm", _("WAV (PCM)")
    WAV_ALAW = "wav_alaw", _("WAV (G.711 A-law)")
    WAV_ULAW = "wav_ulaw", _("WAV (G.711 μ-law)")
    OGG_OPUS = "ogg_opus", _("Opus (OGG)")
    MP3 = "mp3", _("MP3")


class Recording(models.Model):
    call = models.ForeignKey("calls.Call", verbose_name=_("call"), on_delete=models.PROTECT, related_name="recordings")
    # Copied from the call at ingest (the call's agent may change on a transfer; the recording
    # stays the agent's whose call it was when it was uploaded).
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    customer_id = models.BigIntegerField(_("customer"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))  # read from the file, never the client's
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    format = models.CharField(_("format"), max_length=10, choices=AudioFormat.choices)
    sample_rate = models.PositiveIntegerField(_("sample rate (Hz)"), null=True, blank=True)
    channels = models.PositiveSmallIntegerField(_("channels"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    # The file's name in the recordings storage; kept after a purge (the file is gone, the row stays).
    storage_name = models.CharField(_("stored as"), max_length=255, unique=True)
    # Parts of the call not recorded (the switch paused while a password was gathered):
    # [{"start_ms", "end_ms", "reason"}] relative to started_at.
    masked_segments = models.JSONField(_("masked segments"), default=list, blank=True)
    # Waveform peaks for the player (a few hundred values 0–255), computed once at ingest.
    peaks = models.JSONField(_("waveform"), default=list, blank=True)

    seq = models.PositiveBigIntegerField(_("chain position"), unique=True)
    prev_hash = models.CharField(_("previous row's hash"), max_length=64)
    row_hash = models.CharField(_("row hash"), max_length=64)

    legal_hold = models.BooleanField(_("legal hold"), default=False)
    legal_hold_reason = models.CharField(_("legal hold reason"), max_length=200, blank=True)
    purged_at = models.DateTimeField(_("file purged"), null=True, blank=True)

    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("recording")
        verbose_name_plural = _("recordings")
        indexes = [
            models.Index(fields=["started_at"], name="calls_rec_started_idx"),
            models.Index(fields=["agent", "started_at"], name="calls_rec_agent_idx"),
            models.Index(fields=["customer_id", "started_at"], name="calls_rec_customer_idx"),
            models.Index(fields=["call"], name="calls_rec_call_idx"),
            models.Index(fields=["started_at"], name="calls_rec_kept_idx", condition=Q(purged_at__isnull=True)),
        ]
        # The switch retries an upload: the same file for the same call is one recording.
        constraints = [models.UniqueConstraint(fields=["call", "sha256"], name="calls_rec_call_sha_unique")]

    def __str__(self) -> str:
        return f"{self.pk} {self.call_id} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration_s(self) -> float:
        return round(self.duration_ms / 1000, 3)


class IntegrityCheck(models.Model):
    """One run of ``verify_recordings`` (the command or the nightly job): what it found."""

    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    rows = models.PositiveIntegerField(_("rows checked"), default=0)
    files = models.PositiveIntegerField(_("files hashed"), default=0)
    bytes = models.PositiveBigIntegerField(_("bytes hashed"), default=0)
    # [{"kind": "altered|missing|extra|chain", "recording", "name", ...}]
    problems = models.JSONField(_("problems"), default=list, blank=True)
    ok = models.BooleanField(_("passed"), default=False)
    # "command" (manage.py verify_recordings) or "nightly" (the Celery job).
    trigger = models.CharField(_("run by"), max_length=10, default="command")
    # The chain's end as this check saw it: the next check finds rows removed from the end by it.
    last_seq = models.PositiveBigIntegerField(_("last chain position"), null=True, blank=True)
    last_hash = models.CharField(_("last row hash"), max_length=64, blank=True)
    seconds = models.FloatField(_("seconds"), default=0)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("recording integrity check")
        verbose_name_plural = _("recording integrity checks")

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'FAILED'}"

    @property
    def mb_per_s(self) -> float:
        return round(self.bytes / 1e6 / self.seconds, 1) if self.seconds > 0 else 0.0


class PauseState(models.TextChoices):
    PAUSE = "pause", _("Paused")
    RESUME = "resume", _("Resumed")


class RecordingPause(AppendOnlyModel):
    """An agent's desktop paused or resumed the recording of their call (the caller is about to
    say a password aloud: the desktop's loss report verified by password). Told to the switch on
    ``/ws/switch/`` and, at ingest, masked — and silenced where the format allows — whatever the
    switch did (``services.masked_segments_for``)."""

    call = models.ForeignKey("calls.Call", verbose_name=_("call"), on_delete=models.PROTECT, related_name="+")
    state = models.CharField(_("state"), max_length=6, choices=PauseState.choices)
    reason = models.CharField(_("reason"), max_length=20, default="password")
    at = models.DateTimeField(_("time"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["call", "at", "pk"]
        verbose_name = _("recording pause")
        verbose_name_plural = _("recording pauses")
        indexes = [models.Index(fields=["call", "at"], name="calls_rec_pause_call_idx")]

    def __str__(self) -> str:
        return f"{self.call_id} {self.state} {self.at:%H:%M:%S}"
