"""The recording player in Chromium: a demo recording (espeak-ng voices, with a masked password
span) ingested through the real service, opened by a team lead: the waveform canvas is drawn,
the masked segment is shaded and labelled, a click on the waveform seeks, playback moves
``currentTime`` and is audited once on the page, and the JS API (markers, ``recording:time``)
works for the quality-scoring form. Chinese and English screenshots under var/screenshots/."""

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files import File
from django.utils import timezone, translation

from calls.models import Call
from calls.recordings import demo_audio
from org.roles import Role
from tests.factories import PASSWORD, make_staff

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is not installed (apt-get install chromium)")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def recording(settings, tmp_path, make_agent, queues):
    if not demo_audio.available():
        pytest.skip("espeak-ng and sox are needed to render the demo recording")
    from calls.recordings.services import recording_ingest

    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    clip = demo_audio.render(next(c for c in demo_audio.CONVERSATIONS if c.key == "balance"))
    assert clip.masked_segments, "the balance conversation has a masked password span"
    agent = make_agent("agent01")
    started = timezone.now() - timedelta(minutes=30)
    call = Call.objects.create(
        call_id="browser-rec-1",
        ani="13800000001",
        agent=agent,
        service_queue=queues["general"],
        disposition="consultation",
        started_at=started,
        queued_at=started,
        answered_at=started,
    )
    with clip.path.open("rb") as handle:
        result = recording_ingest(
            call_id=call.call_id,
            started_at=started,
            content=File(handle, name="balance.wav"),
            masked=clip.masked_segments,
        )
    return result.recording


def _login(browser, live_server, username):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return context, page


def _drawn_pixels(page) -> dict:
    return page.evaluate(
        """() => {
        const canvas = document.querySelector('.recording-player .rp-canvas');
        const ctx = canvas.getContext('2d');
        const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0, orange = 0;
        for (let i = 0; i < data.length; i += 4) {
          if (data[i + 3] > 0) painted++;
          if (data[i] > 200 && data[i + 1] > 120 && data[i + 1] < 230 && data[i + 2] < 200 && data[i + 3] > 0) orange++;
        }
        return {painted, orange, total: data.length / 4, drawn: Number(canvas.dataset.drawn || 0)};
      }"""
    )


def test_the_player_draws_seeks_plays_and_is_audited(browser, live_server, recording):
    SHOTS.mkdir(parents=True, exist_ok=True)
    lead = make_staff(Role.TEAM_LEAD, username="lead-player")
    with translation.override("zh-hans"):
        masked_zh = translation.gettext("Masked (password)")
    context, page = _login(browser, live_server, lead.username)
    try:
        page.goto(f"{live_server.url}/recordings/{recording.pk}/")
        page.wait_for_function(
            "document.querySelector('.rp-canvas') && Number(document.querySelector('.rp-canvas').dataset.drawn) > 0"
        )
        page.wait_for_function("document.querySelector('.rp-audio').readyState >= 1")
        pixels = _drawn_pixels(page)
        assert pixels["drawn"] == len(recording.peaks) >= 300
        assert pixels["painted"] > pixels["total"] * 0.05  # bars, not an empty canvas
        assert pixels["orange"] > 100  # the masked span is shaded
        label = page.locator(".rp-masked").first
        assert label.inner_text() == masked_zh
        duration = page.evaluate("document.querySelector('.rp-audio').duration")
        assert abs(duration - recording.duration_ms / 1000) < 0.5

        # Listen to the JS API's events as the QA form would.
        page.evaluate(
            """() => { window.times = [];
              document.querySelector('.recording-player')
                .addEventListener('recording:time', e => window.times.push(e.detail.currentTime)); }"""
        )
        box = page.locator(".rp-canvas").bounding_box()
        page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)
        page.wait_for_function("document.querySelector('.rp-audio').currentTime > 0")
        seeked = page.evaluate("document.querySelector('.rp-audio').currentTime")
        assert abs(seeked - duration * 0.75) < 1.5
        assert page.evaluate("window.times.length") >= 1

        # Play (muted: nobody listens in CI) and watch the time move on.
        page.evaluate("() => { const a = document.querySelector('.rp-audio'); a.muted = true; return a.play(); }")
        page.wait_for_function(f"document.querySelector('.rp-audio').currentTime > {seeked + 0.5}", timeout=15_000)
        page.evaluate("document.querySelector('.rp-audio').pause()")

        # Markers (the QA form's timestamped comments): click one, the player seeks to it.
        page.evaluate(
            "RecordingPlayer.get(document.querySelector('.recording-player'))"
            ".addMarker({id: 'c1', time: 5, label: '问候语规范'})"
        )
        assert page.locator(".rp-marker").count() == 1
        page.locator(".rp-marker").click()
        page.wait_for_function("Math.abs(document.querySelector('.rp-audio').currentTime - 5) < 0.3")
        page.screenshot(path=str(SHOTS / "recording-detail-zh.png"), full_page=True)

        # The playback is on the recording's page, once (seeks and ranges are one playback).
        page.reload()
        rows = page.locator("#recording-audit tbody tr")
        texts = [rows.nth(i).inner_text() for i in range(rows.count())]
        assert len([t for t in texts if "lead-player" in t]) == 1, texts

        with page.expect_navigation():
            page.select_option("#lang-select", "en")
        page.wait_for_function("Number(document.querySelector('.rp-canvas').dataset.drawn) > 0")
        assert page.locator(".rp-masked").first.inner_text() == "Masked (password)"
        assert page.locator("main h1").inner_text().startswith("Recording")
        page.screenshot(path=str(SHOTS / "recording-detail-en.png"), full_page=True)
        page.goto(f"{live_server.url}/recordings/")
        assert page.locator("#recordings-table tbody tr").count() == 1
        page.screenshot(path=str(SHOTS / "recordings-search-en.png"), full_page=True)
    finally:
        context.close()
