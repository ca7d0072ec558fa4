"""SMPP 3.4 gateway (smpplib): one transceiver session per worker process (docs/notifications.md).

How it works:

* The session is opened lazily by the first ``send`` (and again by the first ``send`` after the
  link dropped), so a Celery prefork child never inherits its parent's socket; a session found to
  belong to another process id (after a fork) is discarded without an unbind.
* One background reader thread per session owns every socket read: it matches
  ``submit_sm_resp`` to the waiting submit by sequence number, answers ``enquire_link`` and
  ``unbind``, sends our own ``enquire_link`` when the link has been quiet for ``enquire_link_s``
  (and drops the link when that is not answered within ``timeout_s``), and turns ``deliver_sm``
  delivery receipts into ``Receipt`` objects for ``on_receipt``. Writes go through one lock,
  submits through another (segments of one message go out in order, one message at a time).
* ``on_receipt`` runs on the reader thread. If it raises, the ``deliver_sm`` is answered with
  ESME_RX_T_APPN (temporary application error) so the SMSC delivers the receipt again later —
  the handler may raise when it does not know the gateway id yet (the receipt overtook the
  delivery task's write of ``Submitted.gateway_id``). It must not hold Django database
  connections across calls without ``close_old_connections``: it runs outside any request.
* Texts are sent in UCS-2 (data_coding 0x08) unless every character is one whose GSM 03.38 and
  ASCII codes coincide (letters, digits, common punctuation), which go in the SMSC default
  alphabet (0x00) with identical bytes under either reading. Chinese is always UCS-2. A text longer
  than one SMS (70 UCS-2 / 160 GSM characters) is split into concatenated segments of at most
  67 UCS-2 / 153 GSM characters, each starting with the 8-bit-reference UDH
  ``05 00 03 <ref> <total> <seq>`` and sent with esm_class 0x40; the reference is a per-session
  counter, so two consecutive messages never share one (smpplib's ``gsm.make_parts`` picks it at
  random and may cut a UTF-16 surrogate pair in two, so it is not used).
* Every segment asks for a receipt (registered_delivery=1). For a split message the receipts
  of its segments are folded into one report for the first segment's id (the message's
  ``gateway_id``): failed as soon as one segment failed, delivered when all were. After a
  process restart that map is gone; the first segment's receipt then stands for the message and
  the other segments' receipts are reported under their own ids, which match no row.

Exactly once: SMPP cannot be asked "did you take outbox row N?" (``query_sm`` wants the SMSC's
message id, which we only learn from the ``submit_sm_resp``). The SMPP path reconciles by the
gateway id the delivery task stores right after ``send`` returns, and by receipts. ``query``
answers from what this process saw (including a ``submit_sm_resp`` that arrived after ``send``
had given up waiting); when it saw nothing it cannot tell, so it raises
``GatewayError(maybe_sent=True)`` instead of answering ``None``, which would invite a resend —
such a row ends in the dead letters, where the maintainer decides.

Logging: never the text; the phone only as its last four digits. smpplib's own logger
(``notifications.smpp.wire``) is held at INFO, because at DEBUG it dumps whole PDUs in hex.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import random
import re
import select
import socket
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import smpplib.client
import smpplib.consts as c
import smpplib.exceptions
import smpplib.smpp

from .base import GatewayError, GatewayRejected, OutgoingSms, Receipt, ReceiptCallback, Submitted

logger = logging.getLogger("notifications.smpp")
WIRE_LOGGER = "notifications.smpp.wire"

UCS2 = 0x08
DEFAULT_CODING = 0x00
UDHI = 0x40
_MAX_SEGMENTS = 255

# Characters whose GSM 03.38 default-alphabet code equals their ASCII code: a text made only of
# these reads the same whether the SMSC takes data_coding 0 as GSM (unpacked) or as ASCII.
_GSM_ASCII_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 !\"#%&'()*+,-./:;<=>?\n\r")

# submit_sm_resp statuses that will not get better by retrying the same message.
PERMANENT_STATUSES = frozenset(
    {
        c.SMPP_ESME_RINVMSGLEN,
        c.SMPP_ESME_RINVSRCADR,
        c.SMPP_ESME_RINVDSTADR,
        c.SMPP_ESME_RINVESMCLASS,
        c.SMPP_ESME_RINVSRCTON,
        c.SMPP_ESME_RINVSRCNPI,
        c.SMPP_ESME_RINVDSTTON,
        c.SMPP_ESME_RINVDSTNPI,
        c.SMPP_ESME_RINVSCHED,
        c.SMPP_ESME_RINVEXPIRY,
        c.SMPP_ESME_RX_P_APPN,
        c.SMPP_ESME_RX_R_APPN,
        c.SMPP_ESME_RINVOPTPARSTREAM,
        c.SMPP_ESME_ROPTPARNOTALLWD,
        c.SMPP_ESME_RINVPARLEN,
        c.SMPP_ESME_RMISSINGOPTPARAM,
        c.SMPP_ESME_RINVOPTPARAMVAL,
    }
)
# Everything else (ESME_RTHROTTLED 0x58, ESME_RMSGQFUL 0x14, ESME_RSYSERR 0x08, ESME_RSUBMITFAIL
# 0x45, ESME_RX_T_APPN 0x64, vendor codes …) is temporary: GatewayError, retried with backoff.

_RECEIPT_FINAL = {
    "DELIVRD": "delivered",
    "UNDELIV": "failed",
    "REJECTD": "failed",
    "EXPIRED": "failed",
    "DELETED": "failed",
}
_MESSAGE_STATE = {  # the message_state TLV (SMPP 3.4 §5.2.28)
    c.SMPP_MESSAGE_STATE_DELIVERED: "DELIVRD",
    c.SMPP_MESSAGE_STATE_EXPIRED: "EXPIRED",
    c.SMPP_MESSAGE_STATE_DELETED: "DELETED",
    c.SMPP_MESSAGE_STATE_UNDELIVERABLE: "UNDELIV",
    c.SMPP_MESSAGE_STATE_REJECTED: "REJECTD",
    c.SMPP_MESSAGE_STATE_ENROUTE: "ENROUTE",
    c.SMPP_MESSAGE_STATE_ACCEPTED: "ACCEPTD",
    c.SMPP_MESSAGE_STATE_UNKNOWN: "UNKNOWN",
}
_RECEIPT_FIELD = re.compile(r"(id|stat|err|done date):(\S*)", re.IGNORECASE)
_REMEMBERED = 10_000  # in-process maps (row → Submitted, segment id → message) keep this many


def mask_phone(phone: str) -> str:
    """``13800001234`` → ``*******1234``: the last four digits only, for logs."""
    digits = phone.strip()
    return "*" * max(len(digits) - 4, 0) + digits[-4:]


# --- encoding and splitting ---------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    short_message: bytes  # UDH included when split
    data_coding: int
    esm_class: int


def encode_text(text: str) -> tuple[bytes, int, int]:
    """→ (encoded, data_coding, bytes per character unit)."""
    if text and all(ch in _GSM_ASCII_SAFE for ch in text):
        return text.encode("ascii"), DEFAULT_CODING, 1
    return text.encode("utf-16-be"), UCS2, 2


def split_message(text: str, reference: int) -> list[Segment]:
    """The text as one segment, or as concatenated segments sharing the 8-bit ``reference``."""
    encoded, coding, unit = encode_text(text)
    single, part = (140, 134) if coding == UCS2 else (160, 153)
    if len(encoded) <= single:
        return [Segment(encoded, coding, 0)]
    chunks: list[bytes] = []
    pos = 0
    while pos < len(encoded):
        end = min(pos + part, len(encoded))
        if coding == UCS2 and end < len(encoded) and 0xD8 <= encoded[end - 2] <= 0xDB:
            end -= 2  # never cut a surrogate pair (emoji and rare ideographs) in two
        chunks.append(encoded[pos:end])
        pos = end
    if len(chunks) > _MAX_SEGMENTS:
        raise GatewayRejected(f"text too long for SMS ({len(text)} characters)")
    total = len(chunks)
    return [
        Segment(bytes((0x05, 0x00, 0x03, reference & 0xFF, total, seq)) + chunk, coding, UDHI)
        for seq, chunk in enumerate(chunks, start=1)
    ]


def destination(phone: str) -> tuple[int, int, str]:
    """→ (ton, npi, digits): ``+86…`` as an international number, anything else as stored."""
    phone = phone.strip().replace(" ", "").replace("-", "")
    if phone.startswith("+"):
        return c.SMPP_TON_INTL, c.SMPP_NPI_ISDN, phone[1:]
    return c.SMPP_TON_UNK, c.SMPP_NPI_ISDN, phone


# --- receipts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedReceipt:
    message_id: str
    stat: str  # DELIVRD, UNDELIV, … as the SMSC said it
    err: str = ""
    done: str = ""

    @property
    def final_state(self) -> str | None:
        """``delivered`` / ``failed``, or ``None`` for an intermediate report (ENROUTE, ACCEPTD)."""
        return _RECEIPT_FINAL.get(self.stat.upper())

    @property
    def detail(self) -> str:
        parts = [f"stat:{self.stat}"]
        if self.err:
            parts.append(f"err:{self.err}")
        if self.done:
            parts.append(f"done:{self.done}")
        return " ".join(parts)


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1").strip("\x00 ")
    return "" if value is None else str(value).strip()


def parse_receipt(pdu: Any) -> ParsedReceipt | None:
    """A ``deliver_sm`` that is an SMSC delivery receipt → its id and state; else ``None``.

    The receipted_message_id / message_state TLVs win over the ``id:… stat:…`` text, which
    SMSCs format loosely (and some put the id in hex in the text but decimal in the TLV)."""
    esm_class = getattr(pdu, "esm_class", 0) or 0
    tlv_id = _text(getattr(pdu, "receipted_message_id", None))
    if esm_class & 0x3C != 0x04 and not tlv_id:
        return None
    fields = {key.lower(): value for key, value in _RECEIPT_FIELD.findall(_text(getattr(pdu, "short_message", b"")))}
    message_id = tlv_id or fields.get("id", "")
    state = getattr(pdu, "message_state", None)
    stat = _MESSAGE_STATE.get(state, "") if state is not None else ""
    stat = stat or fields.get("stat", "")
    if not message_id or not stat:
        return None
    return ParsedReceipt(message_id, stat, fields.get("err", ""), fields.get("done date", ""))


# --- the session --------------------------------------------------------------------------------


class _LinkLost(Exception):
    pass


@dataclass
class _Pending:
    future: Future
    row_id: int
    segment: int  # 1-based
    message: _Multipart | None = None
    timed_out: bool = False  # send stopped waiting; a late answer goes to ``_late_response``


@dataclass
class _Multipart:
    """Receipts of a split message, folded into one report."""

    total: int
    first_id: str = ""
    segment_ids: list[str] = field(default_factory=list)
    delivered: set[str] = field(default_factory=set)
    reported: bool = False


class _Session:
    """One bound transceiver link and its reader thread."""

    def __init__(self, gateway: SmppGateway) -> None:
        self.gateway = gateway
        self.pid = os.getpid()
        self.client = smpplib.client.Client(
            gateway.host,
            gateway.port,
            timeout=gateway.timeout_s,
            logger_name=WIRE_LOGGER,
            allow_unknown_opt_params=True,
        )
        self.write_lock = threading.Lock()
        self.pending: dict[int, _Pending] = {}
        self.pending_lock = threading.Lock()
        self.drop_lock = threading.Lock()
        self.alive = False
        self.closed = threading.Event()
        self.last_rx = time.monotonic()
        self.enquire_sent_at: float | None = None
        self.thread: threading.Thread | None = None

    # The caller holds the gateway's submit lock.
    def open(self) -> None:
        g = self.gateway
        try:
            self.client.connect()
            self.client.bind_transceiver(system_id=g.system_id, password=g.password, system_type=g.system_type)
        except smpplib.exceptions.PDUError as exc:
            self._close_socket()
            status = exc.args[1] if len(exc.args) > 1 else "?"
            raise GatewayError(f"SMPP bind refused by {g.host}:{g.port} (status {status})") from exc
        except (smpplib.exceptions.ConnectionError, OSError) as exc:
            self._close_socket()
            raise GatewayError(f"SMPP link to {g.host}:{g.port} could not be opened") from exc
        self.alive = True
        self.last_rx = time.monotonic()
        self.thread = threading.Thread(target=self._read_loop, name="smpp-reader", daemon=True)
        self.thread.start()
        logger.info("smpp bound as transceiver to %s:%s", g.host, g.port)

    def send_pdu(self, pdu: Any) -> None:
        with self.write_lock:
            if not self.alive:
                raise _LinkLost("link is down")
            try:
                self.client.send_pdu(pdu)
            except (smpplib.exceptions.ConnectionError, OSError) as exc:
                self.drop("write failed")
                raise _LinkLost("write failed") from exc

    def make_pdu(self, command: str, **kwargs: object) -> Any:
        with self.write_lock:  # smpplib's sequence counter is not thread-safe
            return smpplib.smpp.make_pdu(command, client=self.client, **kwargs)

    def drop(self, reason: str, *, expected: bool = False) -> None:
        """Close the link; every submit still waiting learns it lost its response."""
        with self.drop_lock:
            if self.closed.is_set():
                return
            was_alive, self.alive = self.alive, False
            self._close_socket()
            self.closed.set()
        with self.pending_lock:
            pending, self.pending = self.pending, {}
        for entry in pending.values():
            if not entry.future.done():
                entry.future.set_exception(_LinkLost(reason))
        if was_alive:
            (logger.info if expected else logger.warning)(
                "smpp link to %s:%s lost: %s", self.gateway.host, self.gateway.port, reason
            )

    def close(self) -> None:
        """Unbind politely (best effort) and close."""
        if self.alive and self.pid == os.getpid():
            with contextlib.suppress(_LinkLost):
                self.send_pdu(self.make_pdu("unbind"))
                self.closed.wait(min(self.gateway.timeout_s, 2.0))
        self.drop("closed", expected=True)
        # Return once the reader is done too: it may still be reporting the unbind (a test's log
        # capture, or the process's handlers at exit, would be gone under it).
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(min(self.gateway.timeout_s, 2.0))

    def _close_socket(self) -> None:
        sock = self.client._socket  # smpplib keeps it there; shutdown wakes the reader's select
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
            self.client._socket = None
        self.client.state = c.SMPP_CLIENT_STATE_CLOSED

    def _read_loop(self) -> None:
        g = self.gateway
        tick = max(0.05, min(0.5, g.enquire_link_s / 4))
        while self.alive:
            sock = self.client._socket
            if sock is None:
                break
            try:
                readable, _, _ = select.select([sock], [], [], tick)
            except (OSError, ValueError):
                self.drop("socket closed")
                break
            now = time.monotonic()
            if not readable:
                self._keep_alive(now)
                continue
            try:
                pdu = self.client.read_pdu()
            except (TimeoutError, smpplib.exceptions.ConnectionError, OSError) as exc:
                self.drop(f"read failed ({type(exc).__name__})")
                break
            except Exception:  # a PDU smpplib cannot parse: the stream is no longer trustworthy
                if not self.alive:  # closed under the read by this process (drop, close): not the PDU
                    break
                logger.exception("smpp: unreadable PDU, dropping the link")
                self.drop("unreadable PDU")
                break
            self.last_rx = now
            self.enquire_sent_at = None  # anything from the SMSC proves the link is up
            try:
                self._dispatch(pdu)
            except _LinkLost:
                break
            except Exception:  # a bug here must not leave a bound link without its reader
                logger.exception("smpp: handling %s failed, dropping the link", pdu.command)
                self.drop("reader failed")
                break

    def probe(self) -> None:
        """Send an enquire_link now unless one is out; unanswered, it drops the link."""
        if self.enquire_sent_at is None:
            self.enquire_sent_at = time.monotonic()
            with contextlib.suppress(_LinkLost):
                self.send_pdu(self.make_pdu("enquire_link"))

    def _keep_alive(self, now: float) -> None:
        g = self.gateway
        if self.enquire_sent_at is not None:
            if now - self.enquire_sent_at > g.timeout_s:
                self.drop("enquire_link not answered")
            return
        if now - self.last_rx >= g.enquire_link_s:
            self.probe()

    def _dispatch(self, pdu: Any) -> None:
        command = pdu.command
        if command in ("submit_sm_resp", "generic_nack"):
            with self.pending_lock:
                entry = self.pending.pop(pdu.sequence, None)
                late = entry is not None and entry.timed_out
                if entry is not None and not late:
                    entry.future.set_result(pdu)
            if entry is None:
                logger.warning("smpp: %s for unknown sequence %s", command, pdu.sequence)
                return
            accepted = command == "submit_sm_resp" and pdu.status == c.SMPP_ESME_ROK
            if entry.message is not None and accepted:
                # On this thread, not in ``send``: a receipt for it may be the very next PDU.
                self.gateway._segment_accepted(entry.message, _text(pdu.message_id))
            if late:
                self.gateway._late_response(entry, pdu)
        elif command == "deliver_sm":
            status = self.gateway._receipt_received(pdu)
            resp = smpplib.smpp.make_pdu("deliver_sm_resp", client=self.client, status=status)
            resp.sequence = pdu.sequence
            self.send_pdu(resp)
        elif command == "enquire_link":
            resp = smpplib.smpp.make_pdu("enquire_link_resp", client=self.client)
            resp.sequence = pdu.sequence
            self.send_pdu(resp)
        elif command == "unbind":
            resp = smpplib.smpp.make_pdu("unbind_resp", client=self.client)
            resp.sequence = pdu.sequence
            with contextlib.suppress(_LinkLost):
                self.send_pdu(resp)
            self.drop("unbound by the SMSC")
            raise _LinkLost("unbound")
        elif command == "unbind_resp":
            self.drop("unbound", expected=True)
            raise _LinkLost("unbound")
        elif command != "enquire_link_resp":
            logger.info("smpp: ignored %s", command)


# --- the gateway --------------------------------------------------------------------------------


class SmppGateway:
    """``base.Gateway`` over SMPP 3.4 (see the module docstring). Safe to share between the
    threads of one process; each process gets its own session."""

    name = "smpp"
    # Only for messages this session saw accepted; otherwise ``query`` raises
    # GatewayError(maybe_sent=True): SMPP cannot look a message up by our row id.
    can_query = True

    def __init__(
        self,
        host: str,
        port: int,
        system_id: str,
        password: str,
        system_type: str = "",
        source_addr: str = "95580",
        on_receipt: ReceiptCallback | None = None,
        enquire_link_s: float = 30,
        timeout_s: float = 10,
        source_addr_ton: int = c.SMPP_TON_UNK,
        source_addr_npi: int = c.SMPP_NPI_UNK,
    ) -> None:
        self.host = host
        self.port = int(port)
        self.system_id = system_id
        self.password = password
        self.system_type = system_type
        self.source_addr = source_addr
        self.source_addr_ton = source_addr_ton
        self.source_addr_npi = source_addr_npi
        self.on_receipt = on_receipt
        self.enquire_link_s = float(enquire_link_s)
        self.timeout_s = float(timeout_s)
        logging.getLogger(WIRE_LOGGER).setLevel(logging.INFO)  # DEBUG would hex-dump texts

        self._submit_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._session: _Session | None = None
        self._references = itertools.count(random.randrange(256))  # noqa: S311 - not a secret
        self._accepted: OrderedDict[int, Submitted] = OrderedDict()  # row id → what the SMSC took
        self._multipart: OrderedDict[str, _Multipart] = OrderedDict()  # segment id → message

    # -- the interface --

    def send(self, message: OutgoingSms) -> Submitted:
        with self._submit_lock:
            session = self._bound_session()
            segments = split_message(message.text, next(self._references))
            return self._submit(session, message, segments)

    def query(self, message: OutgoingSms) -> Submitted | None:
        with self._state_lock:
            known = self._accepted.get(message.id)
        if known is not None:
            return known
        raise GatewayError(
            "SMPP cannot look a message up by our row id; reconcile by the stored gateway id and receipts",
            maybe_sent=True,
        )

    # -- lifecycle --

    def connect(self) -> None:
        """Bind now instead of on the first send (a health check, or to collect receipts)."""
        with self._submit_lock:
            self._bound_session()

    def close(self) -> None:
        with self._submit_lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()

    @property
    def is_bound(self) -> bool:
        session = self._session
        return session is not None and session.alive and session.pid == os.getpid()

    # -- internals --

    def _bound_session(self) -> _Session:
        session = self._session
        if session is not None and session.pid != os.getpid():
            # Forked: the reader thread did not come along, and the link is the parent's. Close
            # our copy of the descriptor only (no shutdown, no unbind: that would cut the parent).
            # Our copy of the session is dead too: were its reader running here after all (a test
            # that fakes the fork), it ends quietly instead of reading from a closed socket.
            session.alive = False
            if session.client._socket is not None:
                with contextlib.suppress(OSError):
                    session.client._socket.close()
                session.client._socket = None
            session = None
        if session is None or not session.alive:
            session = _Session(self)
            self._session = session
            session.open()
        return session

    def _submit(self, session: _Session, message: OutgoingSms, segments: list[Segment]) -> Submitted:
        ton, npi, address = destination(message.phone)
        who = f"row={message.id} to={mask_phone(message.phone)}"
        total = len(segments)
        multipart = _Multipart(total) if total > 1 else None
        ids: list[str] = []
        for number, segment in enumerate(segments, start=1):
            already_out = number > 1  # earlier segments of this message were accepted
            pdu = session.make_pdu(
                "submit_sm",
                service_type="",
                source_addr_ton=self.source_addr_ton,
                source_addr_npi=self.source_addr_npi,
                source_addr=self.source_addr,
                dest_addr_ton=ton,
                dest_addr_npi=npi,
                destination_addr=address,
                esm_class=segment.esm_class,
                registered_delivery=1,
                data_coding=segment.data_coding,
                short_message=segment.short_message,
            )
            entry = _Pending(Future(), message.id, number, multipart)
            with session.pending_lock:
                session.pending[pdu.sequence] = entry
            try:
                session.send_pdu(pdu)
            except _LinkLost as exc:
                with session.pending_lock:
                    session.pending.pop(pdu.sequence, None)
                # A PDU that did not go out whole cannot have been accepted.
                raise GatewayError(f"{who}: SMPP link lost", maybe_sent=already_out) from exc
            try:
                resp = self._response(session, entry)
            except FutureTimeout as exc:
                session.probe()  # a dead link is then found within timeout_s, not enquire_link_s
                logger.warning("smpp submit %s: no submit_sm_resp in %ss", who, self.timeout_s)
                raise GatewayError(f"{who}: no submit_sm_resp", maybe_sent=True) from exc
            except _LinkLost as exc:
                logger.warning("smpp submit %s: link lost before submit_sm_resp", who)
                raise GatewayError(f"{who}: SMPP link lost", maybe_sent=True) from exc
            if resp.status != c.SMPP_ESME_ROK:
                self._refused(who, resp, already_out)
            ids.append(_text(resp.message_id))
        submitted = Submitted(gateway_id=ids[0], segments=total)
        with self._state_lock:
            self._remember(message.id, submitted)
        logger.info("smpp submitted %s segments=%d id=%s", who, total, ids[0])
        return submitted

    def _response(self, session: _Session, entry: _Pending) -> Any:
        try:
            return entry.future.result(timeout=self.timeout_s)
        except FutureTimeout:
            with session.pending_lock:  # the reader answers futures under this lock
                if not entry.future.done():
                    entry.timed_out = True  # a late answer is still read and kept for ``query``
                    raise
            return entry.future.result()  # it came in just now

    def _refused(self, who: str, resp: Any, already_out: bool) -> None:
        status = int(resp.status)
        description = c.DESCRIPTIONS.get(status, "vendor-specific status")
        text = f"{who}: SMSC answered 0x{status:02x} ({description})"
        logger.warning("smpp submit %s: status 0x%02x", who, status)
        if resp.command == "submit_sm_resp" and status in PERMANENT_STATUSES:
            raise GatewayRejected(text)
        raise GatewayError(text, maybe_sent=already_out)

    def _remember(self, row_id: int, submitted: Submitted) -> None:
        self._accepted[row_id] = submitted
        while len(self._accepted) > _REMEMBERED:
            self._accepted.popitem(last=False)

    def _segment_accepted(self, multipart: _Multipart, message_id: str) -> None:
        with self._state_lock:
            if not multipart.segment_ids:
                multipart.first_id = message_id
            multipart.segment_ids.append(message_id)
            self._multipart[message_id] = multipart
            while len(self._multipart) > _REMEMBERED:
                self._multipart.popitem(last=False)

    def _late_response(self, entry: _Pending, resp: Any) -> None:
        """A submit_sm_resp that came after ``send`` stopped waiting: the SMSC may have taken
        the message after all — ``query`` now knows (only the first segment's id is kept; later
        segments were never sent)."""
        if resp.command != "submit_sm_resp" or resp.status != c.SMPP_ESME_ROK:
            return
        message_id = _text(resp.message_id)
        with self._state_lock:
            if entry.segment == 1:
                self._remember(entry.row_id, Submitted(message_id, segments=1))
        logger.info("smpp late submit_sm_resp row=%s id=%s", entry.row_id, message_id)

    def _receipt_received(self, pdu: Any) -> int:
        """→ the deliver_sm_resp status."""
        parsed = parse_receipt(pdu)
        if parsed is None:
            logger.info("smpp: deliver_sm that is not a receipt ignored")
            return c.SMPP_ESME_ROK
        state = parsed.final_state
        if state is None:
            return c.SMPP_ESME_ROK  # ENROUTE, ACCEPTD: wait for the final one
        with self._state_lock:
            multipart = self._multipart.get(parsed.message_id)
        gateway_id = parsed.message_id
        if multipart is not None:
            if multipart.reported:
                return c.SMPP_ESME_ROK
            if state == "delivered":
                multipart.delivered.add(parsed.message_id)
                if len(multipart.delivered) < multipart.total:
                    return c.SMPP_ESME_ROK
            gateway_id = multipart.first_id
        receipt = Receipt(gateway_id, state, datetime.now(UTC), parsed.detail)
        logger.info("smpp receipt id=%s %s", gateway_id, parsed.detail)
        if self.on_receipt is None:
            return c.SMPP_ESME_ROK
        try:
            self.on_receipt(receipt)
        except Exception:
            logger.exception("smpp receipt id=%s: handler failed, the SMSC will retry", gateway_id)
            if multipart is not None and state == "delivered":
                multipart.delivered.discard(parsed.message_id)
            return c.SMPP_ESME_RX_T_APPN
        if multipart is not None:
            multipart.reported = True
        return c.SMPP_ESME_ROK
