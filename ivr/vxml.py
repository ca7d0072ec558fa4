"""The current step of a call as a VoiceXML 2.1 document.

One document per step: the prompts (``<audio src>`` with the text inside as the fallback a
platform speaks with its own TTS when the WAV cannot be fetched), then a DTMF ``<field>`` when
the step gathers keys, a ``<transfer>`` to the agent queue, or ``<disconnect/>``. Keys, a
timeout (``<noinput>``) or the caller hanging up are posted back with ``<submit>`` to the events
endpoint as ``seq``, ``type`` and ``digits``; its answer (``?reply=vxml``) is the next document.

Every document is valid against the W3C VoiceXML 2.1 schema (the inline DTMF grammar is in the
VoiceXML namespace, as the schema's redefinition of SRGS wants it) and carries document-level
``error.badfetch`` and ``error`` handlers: a fetch that fails or answers 4xx/5xx (``call_ended``,
``seq_out_of_order``, a server down) plays a prompt and transfers the caller to the general
queue (``IVR_AGENT_QUEUE``), as a switch using the JSON API does, instead of the platform's
default of hanging up. An error inside that fallback itself ends the call rather than loop.

VoiceXML 2.1 has no element that controls the call recording: the ``recording`` actions become
``<log label="recording">pause</log>`` / ``resume`` (executable content, valid everywhere in the
schema) in a ``<block>`` that runs before the step's prompts, for the platform's log hook to act on
(docs/ivr-switch.md "Recording"). A document that leaves the recording paused also resumes it in
its fallback, before that transfer to the general queue.
"""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from django.conf import settings

VXML_NS = "http://www.w3.org/2001/vxml"
CONTENT_TYPE = "application/voicexml+xml; charset=utf-8"
KEYS = "0123456789*"


# Characters XML 1.0 cannot carry at all, escaped or not (C0 controls but tab and line breaks,
# lone surrogates, U+FFFE/U+FFFF): one pasted into a prompt, an announcement or a memo would make
# the document unreadable to the platform, and every caller on that menu would hear its error.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: str) -> str:
    """``value`` as XML character data: escaped, without the characters XML cannot hold."""
    return escape(_NOT_XML.sub("", value))


def _prompt(action: dict[str, Any], indent: str) -> str:
    text = _text(action.get("text", ""))
    url = action.get("audio_url")
    if url:
        return f"{indent}<prompt><audio src={quoteattr(url)}>{text}</audio></prompt>\n"
    return f"{indent}<prompt>{text}</prompt>\n"


def _grammar(max_digits: int, indent: str) -> str:
    items = "".join(f"<item>{key}</item>" for key in KEYS)
    return (
        f'{indent}<grammar mode="dtmf" version="1.0" root="keys" type="application/srgs+xml">'
        f'<rule id="keys" scope="public"><item repeat="0-{max_digits}"><one-of>{items}</one-of></item></rule>'
        "</grammar>\n"
    )


def _recording_logs(states: list[str], indent: str) -> str:
    logs = "".join(f'<log label="recording">{_text(state)}</log>' for state in states)
    return f"{indent}<block>{logs}</block>\n"


def _submit(events_url: str, event_type: str, indent: str) -> str:
    return (
        f'{indent}<assign name="type" expr="\'{event_type}\'"/>\n'
        f'{indent}<submit next={quoteattr(events_url)} method="post" namelist="seq type digits"/>\n'
    )


def transfer_destination(queue: str) -> str:
    return settings.IVR_VXML_TRANSFER_URI.format(queue=queue)


# Said before the fallback transfer when the menu has no ``to_agent`` prompt (callers hear
# Mandarin whatever the staff's UI language, like the menu's prompts).
FALLBACK_PROMPT = "系统繁忙，正在为您转接人工服务，请稍候。"


def _error_handlers() -> list[str]:
    """Document-level handlers: to the fallback form once; an error there ends the call."""
    go = '<if cond="fallen_back"><exit/><else/><assign name="fallen_back" expr="true"/><goto next="#fallback"/></if>'
    return [
        '  <var name="fallen_back" expr="false"/>\n',
        f'  <catch event="error.badfetch">{go}</catch>\n',
        f"  <error>{go}</error>\n",
    ]


def _fallback_form(prompt: str, *, paused: bool = False) -> list[str]:
    destination = quoteattr(transfer_destination(settings.IVR_AGENT_QUEUE))
    resume = '<log label="recording">resume</log>' if paused else ""
    return [
        '  <form id="fallback">\n',
        f"    <block>{resume}<prompt>{_text(prompt or FALLBACK_PROMPT)}</prompt></block>\n",
        f'    <transfer name="fallback_agent" type="blind" dest={destination}/>\n',
        "    <block><exit/></block>\n",
        "  </form>\n",
    ]


def document(
    *, actions: list[dict[str, Any]], next_seq: int, events_url: str, ended: bool, fallback_prompt: str = ""
) -> str:
    """The VoiceXML document for ``actions`` (one response of the engine); ``fallback_prompt`` is
    said before the error handlers' transfer to the general queue."""
    says = [action for action in actions if action["type"] == "say"]
    gather = next((action for action in actions if action["type"] == "gather"), None)
    transfer = next((action for action in actions if action["type"] == "transfer"), None)
    hangup = any(action["type"] == "hangup" for action in actions)
    recording = [
        action["state"]
        for action in actions
        if action["type"] == "recording" and action.get("state") in ("pause", "resume")
    ]
    paused = bool(recording) and recording[-1] == "pause"
    submit_url = f"{events_url}?reply=vxml"

    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<vxml version="2.1" xmlns="{VXML_NS}" xml:lang="zh-CN">\n',
        '  <property name="inputmodes" value="dtmf"/>\n',
        '  <property name="termchar" value="#"/>\n',
        f'  <var name="seq" expr="\'{int(next_seq)}\'"/>\n',
        '  <var name="type" expr="\'digits\'"/>\n',
        '  <var name="digits" expr="\'\'"/>\n',
        *_error_handlers(),
        '  <form id="step">\n',
    ]
    if recording:
        # Before any prompt of the step, as the JSON actions come (a pause before the password's
        # prompt, a resume before whatever follows it, a transfer included).
        lines.append(_recording_logs(recording, "    "))
    if not ended and gather is None and not transfer and not hangup:
        # Nothing to wait for (should not happen); end the dialogue rather than loop.
        ended = True
    if gather is not None:
        lines.append(f'    <field name="keys">\n{_grammar(int(gather["max_digits"]), "      ")}')
        lines.append(f'      <property name="timeout" value="{int(gather["timeout_s"])}s"/>\n')
        lines.append('      <property name="interdigittimeout" value="5s"/>\n')
        lines.extend(_prompt(action, "      ") for action in says)
        # DTMF utterances come as "1 2 3" on some platforms: keep only the keys.
        lines.append(
            '      <filled>\n        <assign name="digits" expr="String(keys$.utterance).replace(/[^0-9*]/g, \'\')"/>\n'
        )
        lines.append(_submit(submit_url, "digits", "        "))
        lines.append("      </filled>\n")
        lines.append("      <noinput>\n" + _submit(submit_url, "timeout", "        ") + "      </noinput>\n")
        lines.append("      <nomatch>\n" + _submit(submit_url, "digits", "        ") + "      </nomatch>\n")
        lines.append("    </field>\n")
    else:
        if says:
            lines.append("    <block>\n")
            lines.extend(_prompt(action, "      ") for action in says)
            lines.append("    </block>\n")
        if transfer is not None:
            hold = transfer.get("hold") or []
            audio = next((item["audio_url"] for item in hold if item.get("audio_url")), "")
            attributes = f'name="agent" type="blind" dest={quoteattr(transfer_destination(transfer["queue"]))}'
            if audio:
                attributes += f" transferaudio={quoteattr(audio)}"
            lines.append(f"    <transfer {attributes}/>\n")
            lines.append("    <block><exit/></block>\n")
        elif hangup:
            lines.append("    <block><disconnect/></block>\n")
        else:
            lines.append("    <block><exit/></block>\n")
    if gather is not None:
        lines.append(
            '    <catch event="connection.disconnect.hangup">\n'
            + _submit(submit_url, "hangup", "      ")
            + "    </catch>\n"
        )
    lines.append("  </form>\n")
    lines.extend(_fallback_form(fallback_prompt, paused=paused))
    lines.append("</vxml>\n")
    return "".join(lines)
