"""The recordings pages (issue 17): who sees which rows, the search filters, a recording's page
(player with the masked segment, integrity facts, audit trail, download per role), the links from
a call and a work order, and the waveform peaks the player draws."""

from __future__ import annotations

import hashlib
import io
import json
import math
import struct
import wave
from datetime import timedelta

import numpy as np
import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone

from audit.services import audit_record
from calls.models import Call
from calls.recordings import waveform
from calls.recordings.models import Recording
from org.roles import Role
from tests.factories import UnitFactory, make_staff
from tickets.models import Ticket

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db

MASKED = [{"start_ms": 12_000, "end_ms": 19_000, "reason": "password"}]
_seq = iter(range(1, 10_000))


def _recording(
    *, agent, ani="13800000001", customer=None, queue=None, disposition="resolved", ago=timedelta(hours=1), masked=()
):
    number = next(_seq)
    at = timezone.now() - ago
    call = Call.objects.create(
        call_id=f"rec-test-{number}",
        ani=ani,
        agent=agent,
        customer_id=customer,
        service_queue=queue,
        disposition=disposition,
        started_at=at,
        queued_at=at,
        answered_at=at,
    )
    digest = hashlib.sha256(f"audio {number}".encode()).hexdigest()
    return Recording.objects.create(
        call=call,
        agent=agent,
        customer_id=customer,
        started_at=at,
        duration_ms=47_000,
        size=376_044,
        format="wav_pcm",
        sample_rate=8000,
        channels=1,
        sha256=digest,
        storage_name=f"test/{number}.wav",
        masked_segments=list(masked),
        peaks=[(i * 7) % 256 for i in range(400)],
        seq=number,
        prev_hash="0" * 64,
        row_hash=hashlib.sha256(digest.encode()).hexdigest(),
    )


@pytest.fixture
def english(client):
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def world(make_agent, queues):
    agent1, agent2 = make_agent("agent01"), make_agent("agent02")
    return {
        "agent1": agent1,
        "agent2": agent2,
        "mine": _recording(agent=agent1, ani="tel:+86-139-1234-5678", customer=7, queue=queues["card"], masked=MASKED),
        "theirs": _recording(agent=agent2, ani="13900000002", queue=queues["general"], disposition="complaint"),
        "old": _recording(agent=agent2, ani="13900000003", ago=timedelta(days=20)),
    }


def _rows(response) -> set[int]:
    """Recording ids of the result table's rows only (not the player's data-recording)."""
    html = response.content.decode()
    if 'id="recordings-table"' not in html:
        return set()
    table = html[html.index('id="recordings-table"') :]
    table = table[: table.index("</table>")]
    return {int(part.split('"', 1)[0]) for part in table.split('<tr data-recording="')[1:]}


def test_an_agent_lists_only_their_own_recordings(client_for, world):
    response = client_for(world["agent1"]).get("/recordings/")
    assert response.status_code == 200
    assert _rows(response) == {world["mine"].pk}
    # The agent filter is not offered to an agent (and would not widen anything).
    assert 'name="agent"' not in response.content.decode()
    assert _rows(client_for(world["agent1"]).get("/recordings/?agent=agent02")) == set()


def test_an_agent_cannot_open_another_agents_recording(client_for, world):
    client = client_for(world["agent1"])
    assert client.get(f"/recordings/{world['theirs'].pk}/").status_code == 404
    assert client.get(f"/recordings/{world['mine'].pk}/").status_code == 200


@pytest.mark.parametrize("role", [Role.TEAM_LEAD, Role.DIRECTOR, Role.MAINTAINER])
def test_supervisors_list_every_recording_of_the_last_week(client_for, world, role):
    rows = _rows(client_for(make_staff(role)).get("/recordings/"))
    assert rows == {world["mine"].pk, world["theirs"].pk}  # "old" is 20 days back


def test_the_switch_gets_a_403(client_for):
    assert client_for(make_staff(Role.SWITCH)).get("/recordings/").status_code == 403


@pytest.mark.parametrize("role", [Role.RISK_OFFICER, Role.ANALYST])
def test_roles_scoped_by_other_records_see_none_without_them(client_for, world, role):
    # The analyst: recordings of work orders; the risk officer: of risk alerts. There are none here.
    response = client_for(make_staff(role)).get("/recordings/")
    assert response.status_code == 200 and _rows(response) == set()


def test_anonymous_goes_to_the_login_page(client):
    response = client.get("/recordings/")
    assert response.status_code == 302 and "/login" in response["Location"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("agent=agent02", {"theirs"}),
        ("caller=13912345678", {"mine"}),  # digits match whatever separates them in the ANI
        ("caller=5678", {"mine"}),
        ("customer=7", {"mine"}),
        ("queue=general", {"theirs"}),
        ("disposition=complaint", {"theirs"}),
        ("agent=agent02&date_from={d30}&date_to={today}", {"theirs", "old"}),
        ("date_from={d30}&date_to={d10}", {"old"}),
    ],
)
def test_the_search_filters(client_for, world, query, expected):
    today = timezone.localdate()
    query = query.format(today=today, d30=today - timedelta(days=30), d10=today - timedelta(days=10))
    rows = _rows(client_for(make_staff(Role.TEAM_LEAD)).get(f"/recordings/?{query}"))
    assert rows == {world[name].pk for name in expected}


def test_a_bad_filter_is_a_form_error_not_a_500(client_for, world):
    response = client_for(make_staff(Role.TEAM_LEAD)).get(
        "/recordings/?date_from=2026-05-01&date_to=2026-04-01&caller=abc"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="filter-errors"' in html and _rows(response) == set()


def test_paging_without_counting(client_for, make_agent, queues):
    agent = make_agent("agent03")
    for minutes in range(55):
        _recording(agent=agent, ago=timedelta(minutes=minutes + 1))
    client = client_for(make_staff(Role.TEAM_LEAD))
    first, second = client.get("/recordings/"), client.get("/recordings/?page=2")
    assert len(_rows(first)) == 50 and len(_rows(second)) == 5
    assert not (_rows(first) & _rows(second))
    assert 'rel="next"' in first.content.decode() and 'rel="next"' not in second.content.decode()


def test_a_call_id_opens_its_only_recording(client_for, world):
    client = client_for(make_staff(Role.TEAM_LEAD))
    response = client.get(f"/recordings/?call_id={world['theirs'].call.call_id}")
    assert response.status_code == 302 and response["Location"] == f"/recordings/{world['theirs'].pk}/"
    # ... a call with none lists nothing; an agent cannot reach another's recording that way.
    assert _rows(client.get("/recordings/?call_id=nope")) == set()
    agent_view = client_for(world["agent1"]).get(f"/recordings/?call_id={world['theirs'].call.call_id}")
    assert agent_view.status_code == 200 and _rows(agent_view) == set()


def test_the_work_order_filter_and_unit_staff_scope(client_for, world):
    unit, other = UnitFactory(code="B03"), UnitFactory(code="B04")
    ticket = Ticket.objects.create(
        kind="complaint",
        category="service_attitude",
        description="态度",
        call_id=world["theirs"].call.call_id,
        unit=unit,
    )
    Ticket.objects.create(
        kind="complaint", category="fees", description="费用", call_id=world["mine"].call.call_id, unit=other
    )
    lead = client_for(make_staff(Role.TEAM_LEAD))
    assert _rows(lead.get(f"/recordings/?ticket={ticket.pk}&list=1")) == {world["theirs"].pk}
    staff = client_for(make_staff(Role.UNIT_STAFF, unit=unit))
    assert _rows(staff.get("/recordings/")) == {world["theirs"].pk}
    assert staff.get(f"/recordings/{world['mine'].pk}/").status_code == 404
    assert staff.get(f"/recordings/{world['theirs'].pk}/").status_code == 200


def test_the_recording_page_shows_the_player_with_the_masked_segment(english, client_for, world):
    recording = world["mine"]
    response = client_for(make_staff(Role.TEAM_LEAD)).get(f"/recordings/{recording.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="recording-player"' in html and "recording-player.js" in html
    assert f'data-src="/api/recordings/{recording.pk}/audio/"' in html
    start = html.index("data-masked='") + len("data-masked='")
    masked = json.loads(html[start : html.index("'", start)].replace("&quot;", '"'))
    assert masked == MASKED
    start = html.index("data-peaks='") + len("data-peaks='")
    assert json.loads(html[start : html.index("'", start)])[:3] == [0, 7, 14]
    assert "Masked (password) 0:12–0:19" in html  # under the player
    assert recording.sha256 in html and "Legal hold" in html
    assert f'href="/calls/{recording.call.pk}/"' in html


def test_the_masked_label_is_chinese_by_default(client_for, world):
    html = client_for(make_staff(Role.TEAM_LEAD)).get(f"/recordings/{world['mine'].pk}/").content.decode()
    assert "已屏蔽（密码）" in html or "Masked (password)" in html  # until the .po fragment is merged
    assert '<html lang="zh-hans">' in html


@pytest.mark.parametrize(("role", "allowed"), [(Role.TEAM_LEAD, True), (Role.DIRECTOR, True), (Role.AGENT, False)])
def test_the_download_button_per_role(client_for, world, role, allowed):
    user = world["agent1"] if role == Role.AGENT else make_staff(role)
    html = client_for(user).get(f"/recordings/{world['mine'].pk}/").content.decode()
    assert ('id="recording-download"' in html) is allowed


def test_the_page_lists_the_recordings_audit_events(client_for, world):
    recording, lead = world["mine"], make_staff(Role.TEAM_LEAD, username="lead-listener")
    audit_record(
        actor=lead,
        action="recording.play",
        object_type="recording",
        object_id=recording.pk,
        details={"range": "bytes=0-"},
    )
    audit_record(actor=lead, action="recording.play", object_type="recording", object_id=world["theirs"].pk)
    html = client_for(lead).get(f"/recordings/{recording.pk}/").content.decode()
    audit = html[html.index('id="recording-audit"') :]
    assert audit.count("lead-listener") == 1 and "bytes=0-" in audit


def test_the_call_page_links_to_its_recording(client_for, world):
    html = client_for(make_staff(Role.TEAM_LEAD)).get(f"/calls/{world['mine'].call.pk}/").content.decode()
    section = html[html.index('id="call-recording"') :]
    assert f'href="/recordings/{world["mine"].pk}/"' in section


def test_the_work_order_page_links_to_the_calls_recordings(client_for, world):
    ticket = Ticket.objects.create(
        kind="complaint", category="fees", description="x", call_id=world["mine"].call.call_id
    )
    html = client_for(make_staff(Role.TEAM_LEAD)).get(f"/tickets/{ticket.pk}/").content.decode()
    assert f'href="/recordings/?call_id={world["mine"].call.call_id}"' in html


def test_the_player_template_tag_checks_access(world):
    tag = Template("{% load recording_player %}{% recording_player rid %}")
    request = RequestFactory().get("/")
    request.user = world["agent1"]
    mine = tag.render(Context({"request": request, "rid": world["mine"].pk}))
    theirs = tag.render(Context({"request": request, "rid": world["theirs"].pk}))
    assert 'class="recording-player"' in mine
    assert 'class="recording-player"' not in theirs and "recording-unavailable" in theirs


# --- waveform peaks ---------------------------------------------------------------------------


def _wav(samples: np.ndarray, *, rate: int = 8000, channels: int = 1) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype("<i2").tobytes())
    return out.getvalue()


def _g711(samples: np.ndarray, *, tag: int, table: np.ndarray) -> bytes:
    # Encode by nearest table entry (exact for a test signal), then wrap in a WAVE_FORMAT_ALAW/MULAW header.
    order = np.argsort(table)
    index = np.clip(np.searchsorted(table[order], samples), 0, 255)
    data = order[index].astype(np.uint8).tobytes()
    fmt = struct.pack("<HHIIHH", tag, 1, 8000, 8000, 1, 8) + b"\x00\x00"
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _signal() -> np.ndarray:
    """Two seconds: the first half silent, the second a loud tone."""
    t = np.arange(16_000)
    tone = (np.sin(2 * math.pi * 440 * t / 8000) * 20_000).astype(np.int32)
    tone[:8000] = 0
    return tone


@pytest.mark.parametrize("kind", ["pcm", "alaw", "ulaw", "stereo"])
def test_peaks_show_silence_then_sound(kind):
    signal = _signal()
    if kind == "pcm":
        data, fmt = _wav(signal), "wav_pcm"
    elif kind == "stereo":
        data, fmt = _wav(np.repeat(signal, 2), channels=2), "wav_pcm"
    elif kind == "alaw":
        data, fmt = _g711(signal, tag=6, table=waveform.ALAW), "wav_alaw"
    else:
        data, fmt = _g711(signal, tag=7, table=waveform.ULAW), "wav_ulaw"
    peaks = waveform.peaks(io.BytesIO(data), fmt)
    assert len(peaks) == 400 and all(0 <= p <= 255 for p in peaks)
    assert max(peaks[:195]) <= 8  # silence (G.711's smallest step is not quite zero)
    assert min(peaks[205:]) >= 190  # 20,000 / 32,768 on a square-root scale ≈ 199


def test_g711_tables_match_the_standard_decoders():
    # A few ITU-T G.711 reference values (as audioop.alaw2lin / ulaw2lin decode them).
    assert [int(waveform.ALAW[b]) for b in (0xD5, 0x55, 0xAA, 0x2A)] == [8, -8, 32256, -32256]
    assert [int(waveform.ULAW[b]) for b in (0xFF, 0x7F, 0x80, 0x00)] == [0, 0, 32124, -32124]


def test_peaks_of_a_file_that_is_no_audio_are_empty(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_bytes(b"this is not a wav file at all")
    assert waveform.peaks(path, "wav_pcm") == []
    assert waveform.peaks(io.BytesIO(b""), "wav_alaw") == []


def test_peaks_of_a_short_file_have_one_value_per_frame():
    assert len(waveform.peaks(io.BytesIO(_wav(np.array([0, 1000, -32768, 5]))), "wav_pcm")) == 4


# --- the simulator records its calls ----------------------------------------------------------


@pytest.fixture
def recordings_storage(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    return tmp_path


@pytest.mark.django_db(transaction=True)
def test_simulate_traffic_uploads_a_recording_per_answered_call(queues, recordings_storage):
    from django.core.management import call_command

    from calls.demo import seed_queues
    from calls.recordings import demo_audio
    from ivr.demo import seed_default_menu

    if not demo_audio.available():
        pytest.skip("espeak-ng and sox are needed to render the demo recordings")
    seed_default_menu()
    for n in range(1, 4):
        make_staff(Role.AGENT, username=f"agent{n:02d}")
    make_staff(Role.SWITCH, username="switch")
    seed_queues()
    out = io.StringIO()
    call_command(
        "simulate_traffic", "--calls-per-hour", "1800", "--minutes", "1", "--speed", "60", "--seed", "3", stdout=out
    )
    summary = json.loads(out.getvalue()[out.getvalue().index("{") :])
    answered = Call.objects.filter(call_id__startswith="sim-", answered_at__isnull=False)
    assert summary["errors"] == 0 and summary["answered"] > 0
    assert summary["recordings"] == answered.count() == Recording.objects.filter(call__in=answered).count()
    recording = Recording.objects.filter(call__in=answered).first()
    assert recording.format == "wav_alaw" and recording.uploaded_by.username == "switch"
    assert recording.agent_id == recording.call.agent_id and len(recording.peaks) == 400
    assert abs(recording.started_at - recording.call.answered_at) < timedelta(seconds=1)
    stored = list(recordings_storage.rglob("*.wav"))
    assert len(stored) == summary["recordings"]


def test_the_director_puts_a_recording_on_legal_hold_from_its_page(client_for, world):
    recording, director = world["mine"], make_staff(Role.DIRECTOR)
    client = client_for(director)
    assert 'id="legal-hold-form"' in client.get(f"/recordings/{recording.pk}/").content.decode()
    refused = client.post(f"/recordings/{recording.pk}/legal-hold/", {"hold": "1", "reason": "  "}, follow=True)
    recording.refresh_from_db()
    assert not recording.legal_hold and refused.status_code == 200
    client.post(f"/recordings/{recording.pk}/legal-hold/", {"hold": "1", "reason": "投诉复核"})
    recording.refresh_from_db()
    assert recording.legal_hold and recording.legal_hold_reason == "投诉复核"
    html = client.get(f"/recordings/{recording.pk}/").content.decode()
    assert 'id="legal-hold-flag"' in html and "投诉复核" in html


@pytest.mark.parametrize("role", [Role.TEAM_LEAD, Role.AGENT])
def test_other_roles_cannot_set_a_legal_hold(client_for, world, role):
    user = world["agent1"] if role == Role.AGENT else make_staff(role)
    client = client_for(user)
    assert 'id="legal-hold-form"' not in client.get(f"/recordings/{world['mine'].pk}/").content.decode()
    assert client.post(f"/recordings/{world['mine'].pk}/legal-hold/", {"hold": "1", "reason": "x"}).status_code == 403
    world["mine"].refresh_from_db()
    assert not world["mine"].legal_hold


@pytest.mark.django_db(transaction=True)
def test_the_seed_records_each_agents_latest_calls_through_the_ingest(queues, recordings_storage):
    from calls.demo import seed_call_history, seed_queues, seed_recordings
    from calls.recordings import demo_audio, integrity

    if not demo_audio.available():
        pytest.skip("espeak-ng and sox are needed to render the demo recordings")
    for n in range(1, 4):
        make_staff(Role.AGENT, username=f"agent{n:02d}")
    seed_queues()
    seed_call_history(2)
    assert seed_recordings(per_agent=2, days=3) == 6
    assert seed_recordings(per_agent=2, days=3) == 2 * 3  # the next two of each: never the same call twice
    per_agent = {}
    for recording in Recording.objects.select_related("call"):
        assert recording.agent_id == recording.call.agent_id and recording.format == "wav_alaw"
        assert abs(recording.started_at - recording.call.answered_at) < timedelta(seconds=1)
        per_agent[recording.agent_id] = per_agent.get(recording.agent_id, 0) + 1
    assert sorted(per_agent.values()) == [4, 4, 4]
    assert Recording.objects.exclude(masked_segments=[]).exists()  # the balance enquiry's password pause
    assert integrity.verify(trigger="command").ok
