"""What quality scoring needs from the recordings, plugged in by calls (``calls/apps.py`` registers
``calls.recordings.qa_side.RECORDING_SIDE``).

Recordings belong to calls, which sits above agents: quality scoring keeps a recording's id as a
plain integer and asks the call side through this port, as ``agents.call_port`` does for calls.
Until it is registered every call raises ``RecordingPortMissing`` (code
``recording_port_unregistered``), never a silent "no recordings".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _

from core.errors import DomainError

# A recording as scoring shows it:
# {"id", "call_id", "agent_id", "started_at" (aware datetime), "duration_s", "audio_url",
#  "page_url", "peaks" [0–255, ...], "masked" [{"start_ms", "end_ms", "reason"}]}
RecordingSummary = dict[str, Any]


class RecordingPortMissing(DomainError):
    code = "recording_port_unregistered"
    status = 503
    default_message = _("Recordings are not available (the call side is not registered).")


@dataclass(frozen=True)
class RecordingSide:
    # The recording ``id`` as a summary, or None when there is none.
    summary: Callable[[int], RecordingSummary | None]
    # Several at once (the work lists): ``{id: summary}``, unknown ids left out.
    summaries: Callable[[Iterable[int]], dict[int, RecordingSummary]]
    # Ids of the recordings of agent ``agent_id`` started in ``[start, end)``, ascending, files kept.
    agent_recordings: Callable[[int, datetime, datetime], list[int]]
    # Whether ``user`` may play recording ``id`` (the recordings' own access rule).
    may_play: Callable[[Any, int], bool]


_side: list[RecordingSide] = []


def register(side: RecordingSide) -> None:
    _side[:] = [side]


def unregister() -> None:
    """Tests: the state before ``calls`` plugged its side in."""
    _side.clear()


def registered() -> RecordingSide | None:
    return _side[0] if _side else None


def recording_side() -> RecordingSide:
    if not _side:
        raise RecordingPortMissing()
    return _side[0]
