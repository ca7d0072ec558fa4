"""Real short recordings for the demo and the traffic simulator (issue 17, item 3).

A handful of everyday phone-banking conversations, spoken by espeak-ng's Mandarin voice with two
different variants (the agent a female voice, the caller a male one), put end to end with sox,
with short pauses between turns, as an 8 kHz mono WAV — what a switch records. Where the caller
enters a password the file holds silence and the clip lists that span as a masked segment (the
switch pauses the recording while the IVR or the agent's prompt gathers the password).

Rendered clips are cached in ``var/demo-audio/`` under the hash of what they were rendered from,
so seeding renders each clip once per machine. Without espeak-ng or sox, ``available()`` is
false and callers skip recordings (the seed still works).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

AGENT_VOICE = "cmn+f3"
CALLER_VOICE = "cmn+m3"
SPEED = 170  # words per minute (espeak-ng's default 175 sounds rushed in Mandarin)
GAP_S = 0.45
RATE = 8000
RENDER_VERSION = 1  # bump to re-render every cached clip

# (speaker, text); speaker "agent", "caller", or "masked" with the seconds of the pause.
Line = tuple[str, str]


@dataclass(frozen=True)
class Conversation:
    key: str
    title: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Clip:
    key: str
    path: Path
    duration_ms: int
    masked_segments: list[dict]  # [{"start_ms", "end_ms", "reason"}]
    encoding: str  # "pcm" (16-bit) or "alaw"


CONVERSATIONS: tuple[Conversation, ...] = (
    Conversation(
        "atm_card",
        "取款机吞卡",
        (
            ("agent", "您好，农商银行客服中心，工号零一，请问有什么可以帮您？"),
            ("caller", "你好，我刚才在城东支行的取款机取钱，卡被吞了。"),
            ("agent", "请不要着急。请问取款机上显示了什么提示吗？"),
            ("caller", "显示交易超时，然后卡就没有退出来。"),
            ("agent", "好的，我已经为您登记，支行会在两个工作日内联系您领取银行卡。"),
            ("caller", "好的，谢谢你。"),
            ("agent", "不客气，祝您生活愉快，再见。"),
        ),
    ),
    Conversation(
        "balance",
        "查询余额（输入密码）",
        (
            ("agent", "您好，农商银行客服中心，请问有什么可以帮您？"),
            ("caller", "我想查一下我卡里的余额。"),
            ("agent", "好的，请您在电话按键上输入六位查询密码，以井号键结束。"),
            ("masked", "6"),
            ("agent", "密码验证成功。您尾号零零零一的借记卡，可用余额为五万元整。"),
            ("caller", "好的，知道了，谢谢。"),
            ("agent", "感谢您的来电，再见。"),
        ),
    ),
    Conversation(
        "loss_report",
        "口头挂失",
        (
            ("agent", "您好，农商银行客服中心，请问有什么可以帮您？"),
            ("caller", "我的存折找不到了，想先挂失。"),
            ("agent", "好的，请问您的姓名和身份证号码后六位是多少？"),
            ("caller", "我叫王强，身份证后六位是一二三四五六。"),
            ("agent", "核实通过。已为您办理口头挂失，有效期五天，请在五天内带身份证到网点办理书面挂失。"),
            ("caller", "明白了，谢谢。"),
        ),
    ),
    Conversation(
        "fee_complaint",
        "手续费投诉",
        (
            ("agent", "您好，农商银行客服中心，请问有什么可以帮您？"),
            ("caller", "我这个月被扣了一笔短信服务费，我从来没有开通过。"),
            ("agent", "非常抱歉给您带来不便。我帮您登记投诉，由开户支行核实后回复您。"),
            ("caller", "要多久才有结果？"),
            ("agent", "一般在五个工作日内处理完毕，处理结果会电话告知您。"),
            ("caller", "好吧，那我等你们电话。"),
        ),
    ),
    Conversation(
        "transfer_help",
        "转账咨询",
        (
            ("agent", "您好，农商银行客服中心，请问有什么可以帮您？"),
            ("caller", "我想问一下，电话银行转账每天最多能转多少钱？"),
            ("agent", "电话银行单笔转账限额五千元，每日累计限额两万元。"),
            ("caller", "那转到别的银行可以吗？"),
            ("agent", "电话银行只能转到您本人名下关联的本行账户。"),
            ("caller", "哦，这样啊，谢谢。"),
        ),
    ),
    Conversation(
        "deposit_rates",
        "存款利率咨询",
        (
            ("agent", "您好，农商银行客服中心，请问有什么可以帮您？"),
            ("caller", "请问现在一年定期存款的利率是多少？"),
            ("agent", "目前一年期整存整取的年利率是百分之一点五。"),
            ("caller", "三年期呢？"),
            ("agent", "三年期是百分之二点一五，具体以网点公告为准。"),
            ("caller", "好的，谢谢。"),
        ),
    ),
)


def available() -> bool:
    """Whether clips can be rendered (espeak-ng and sox installed) or are all cached already."""
    if shutil.which("espeak-ng") and shutil.which("sox"):
        return True
    return all(_cached(conversation, "pcm") is not None for conversation in CONVERSATIONS)


def cache_dir() -> Path:
    return Path(getattr(settings, "DEMO_AUDIO_DIR", "") or settings.VAR_DIR / "demo-audio")


def _digest(conversation: Conversation, encoding: str) -> str:
    source = json.dumps(
        [RENDER_VERSION, AGENT_VOICE, CALLER_VOICE, SPEED, GAP_S, RATE, encoding, conversation.lines],
        ensure_ascii=False,
    )
    return hashlib.sha256(source.encode()).hexdigest()[:24]


def _paths(conversation: Conversation, encoding: str) -> tuple[Path, Path]:
    stem = cache_dir() / f"{conversation.key}-{_digest(conversation, encoding)}"
    return stem.with_suffix(".wav"), stem.with_suffix(".json")


def _cached(conversation: Conversation, encoding: str) -> Clip | None:
    wav_path, meta_path = _paths(conversation, encoding)
    if not (wav_path.is_file() and meta_path.is_file()):
        return None
    meta = json.loads(meta_path.read_text())
    return Clip(conversation.key, wav_path, meta["duration_ms"], meta["masked_segments"], encoding)


def _run(args: list[str]) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=60)  # noqa: S603 - fixed programs, no shell


def _frames_ms(path: Path) -> int:
    with wave.open(str(path), "rb") as wav:
        return round(wav.getnframes() * 1000 / wav.getframerate())


def render(conversation: Conversation, *, encoding: str = "pcm") -> Clip:
    """The conversation as an 8 kHz mono WAV (16-bit PCM or G.711 A-law), cached by content hash.
    Raises ``RuntimeError`` when espeak-ng or sox is missing and the clip is not cached."""
    cached = _cached(conversation, encoding)
    if cached is not None:
        return cached
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    if not (espeak and sox):
        raise RuntimeError("espeak-ng and sox are needed to render demo recordings")
    wav_path, meta_path = _paths(conversation, encoding)
    wav_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="demo-audio-") as work:
        parts: list[str] = []
        masked: list[dict] = []
        position_ms = 0
        gap = os.path.join(work, "gap.wav")
        _run([sox, "-n", "-r", str(RATE), "-c", "1", "-b", "16", gap, "trim", "0", str(GAP_S)])
        gap_ms = _frames_ms(Path(gap))
        for number, (speaker, text) in enumerate(conversation.lines):
            part = os.path.join(work, f"{number:02d}.wav")
            if speaker == "masked":
                seconds = float(text)
                _run([sox, "-n", "-r", str(RATE), "-c", "1", "-b", "16", part, "trim", "0", str(seconds)])
                length = _frames_ms(Path(part))
                masked.append({"start_ms": position_ms, "end_ms": position_ms + length, "reason": "password"})
            else:
                raw = os.path.join(work, f"{number:02d}-raw.wav")
                voice = AGENT_VOICE if speaker == "agent" else CALLER_VOICE
                _run([espeak, "-v", voice, "-s", str(SPEED), "-w", raw, text])
                # The phone line: 8 kHz, band-limited, a little quieter for the caller's far end.
                gain = "-1" if speaker == "agent" else "-4"
                _run(
                    [
                        sox,
                        raw,
                        "-r",
                        str(RATE),
                        "-c",
                        "1",
                        "-b",
                        "16",
                        part,
                        "highpass",
                        "300",
                        "lowpass",
                        "3400",
                        "gain",
                        gain,
                    ]
                )
                length = _frames_ms(Path(part))
            parts.append(part)
            position_ms += length
            if number < len(conversation.lines) - 1:
                parts.append(gap)
                position_ms += gap_ms
        joined = os.path.join(work, "joined.wav")
        _run([sox, *parts, joined])
        duration_ms = _frames_ms(Path(joined))
        target = os.path.join(work, "out.wav")
        if encoding == "alaw":
            _run([sox, joined, "-e", "a-law", "-b", "8", target])
        else:
            shutil.copyfile(joined, target)
        # Write the metadata before the audio appears: a reader finding the WAV finds both.
        meta_path.write_text(json.dumps({"duration_ms": duration_ms, "masked_segments": masked}))
        shutil.move(target, wav_path)
    return Clip(conversation.key, wav_path, duration_ms, masked, encoding)


def clips(*, encoding: str = "pcm") -> list[Clip]:
    """Every demo conversation rendered (cached), or ``[]`` when they cannot be."""
    if not available():
        return []
    try:
        return [render(conversation, encoding=encoding) for conversation in CONVERSATIONS]
    except (RuntimeError, OSError, subprocess.SubprocessError):
        return []
