"""Prompt audio: 8 kHz mono WAVs from espeak-ng + sox, rendered lazily and cached by text hash;
data-bearing prompts not kept; a missing binary degrades to text only, never a crash."""

import logging
import shutil
import subprocess
import wave
from io import BytesIO

import pytest

from ivr import tts
from ivr.tests.helpers import Caller, said

pytestmark = pytest.mark.django_db
pytest_plugins = ["ivr.tests.fixtures"]

needs_tts = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")), reason="espeak-ng and sox are not installed"
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    tts._binaries.cache_clear()
    yield tmp_path
    tts._binaries.cache_clear()


def wav_of(response) -> wave.Wave_read:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "audio/wav"
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return wave.open(BytesIO(body))


@needs_tts
def test_prompt_audio_is_an_8khz_mono_wav_cached_by_text_hash(caller, switch_client, media):
    call = caller()
    actions = call.start()
    url = actions[0]["audio_url"]
    audio = wav_of(switch_client.get(url))
    assert audio.getframerate() == 8000 and audio.getnchannels() == 1 and audio.getsampwidth() == 2
    assert audio.getnframes() > 8000 * 0.5  # some speech, not an empty file
    cached = media / "ivr-audio" / f"{tts.text_hash(actions[0]['text'])}.wav"
    assert cached.exists()
    # Another call saying the same text reuses the file.
    other = Caller(switch_client)
    other.start()
    before = cached.stat().st_mtime_ns
    wav_of(switch_client.get(other.actions[0]["audio_url"]))
    assert cached.stat().st_mtime_ns == before and len(list((media / "ivr-audio").iterdir())) == 1


@needs_tts
def test_prompts_with_caller_data_are_rendered_but_not_kept(caller, switch_client, customer, media):
    call = caller()
    call.start()
    call.login(customer.card.number)
    balance = said(call.press("1"), "balance")
    assert wav_of(switch_client.get(balance["audio_url"])).getframerate() == 8000
    assert not (media / "ivr-audio" / f"{tts.text_hash(balance['text'])}.wav").exists()


def test_the_event_endpoint_never_runs_text_to_speech(caller, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("espeak-ng must not run on the switch's event path")

    monkeypatch.setattr(subprocess, "run", forbidden)
    call = caller()
    call.start()
    assert call.press("3")[0]["audio_url"]


def test_a_missing_tts_binary_degrades_to_text_only_with_a_warning(caller, switch_client, settings, caplog):
    settings.IVR_TTS_BINARY = "/nonexistent/espeak-ng"
    caplog.set_level(logging.WARNING, logger="ivr.tts")
    call = caller()
    actions = call.start()
    assert actions[0]["text"] and all("audio_url" not in action for action in actions)
    assert "IVR prompt audio disabled" in caplog.text
    assert said(call.press("3"), "info_menu")["text"].startswith("存款利率")
    vxml = switch_client.get(f"/api/ivr/calls/{call.call_id}/vxml").content.decode()
    assert "<audio" not in vxml and "<prompt>存款利率" in vxml


def test_audio_asked_for_when_tts_is_missing_is_404_audio_unavailable(caller, switch_client, settings):
    call = caller()
    url = call.start()[0]["audio_url"]
    settings.IVR_TTS_BINARY = "/nonexistent/espeak-ng"
    tts._binaries.cache_clear()
    response = switch_client.get(url)
    assert response.status_code == 404 and response.json()["error"]["code"] == "audio_unavailable"


def test_a_failing_tts_run_is_text_only_not_a_crash(caller, switch_client, monkeypatch):
    call = caller()
    url = call.start()[0]["audio_url"]

    def broken(*args, **kwargs):
        raise subprocess.CalledProcessError(1, args[0])

    monkeypatch.setattr(subprocess, "run", broken)
    response = switch_client.get(url)
    assert response.status_code == 404 and response.json()["error"]["code"] == "audio_unavailable"


def test_unknown_prompt_audio_is_404(caller, switch_client):
    call = caller()
    call.start()
    for path in ("0-9.wav", "5-0.wav", "0-0-3.wav"):
        response = switch_client.get(f"/api/ivr/calls/{call.call_id}/audio/{path}")
        assert response.status_code == 404 and response.json()["error"]["code"] == "audio_not_found"


def test_staff_hear_only_their_own_test_calls(caller, client_for, staff):
    from org.roles import Role

    call = caller()
    url = call.start()[0]["audio_url"]
    response = client_for(staff[Role.AGENT]).get(url)
    assert response.status_code == 404  # a real caller's prompts are not for staff browsers


@needs_tts
def test_prompts_can_be_rendered_ahead_of_the_first_caller(ivr_menu, media):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("ivr_render_prompts", stdout=out)
    assert "menu v1" in out.getvalue()
    welcome = ivr_menu.prompts.get(key="welcome").text
    assert (media / "ivr-audio" / f"{tts.text_hash(welcome)}.wav").exists()
    balance = ivr_menu.prompts.get(key="balance").text  # has {balance}: rendered per call only
    assert not (media / "ivr-audio" / f"{tts.text_hash(balance)}.wav").exists()
    out = io.StringIO()
    call_command("ivr_render_prompts", stdout=out)
    assert "0 rendered now" in out.getvalue()
