"""A small SMPP 3.4 SMSC for tests (threads, 127.0.0.1, an ephemeral port).

It decodes PDUs itself (``struct``, not smpplib), so the gateway's bytes are checked by an
independent reader. It accepts ``bind_transceiver`` (checking system_id and password), answers
``submit_sm`` with ``submit_sm_resp`` and a message id, records every PDU it got (submits with
their UDH and decoded text), answers ``enquire_link`` and ``unbind``, and can be told to:

* answer the next submits with an error status (``fail_next``),
* not answer them at all, or answer late (``skip_next``, ``delay_next``),
* drop the link now, or on the next submit before answering (``drop_link``, ``drop_on_next``),
* send a ``deliver_sm`` delivery receipt for a message id (``send_receipt``),
* send its own ``enquire_link`` (``send_enquire_link``).
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

COMMANDS = {
    0x80000000: "generic_nack",
    0x00000004: "submit_sm",
    0x80000004: "submit_sm_resp",
    0x00000005: "deliver_sm",
    0x80000005: "deliver_sm_resp",
    0x00000006: "unbind",
    0x80000006: "unbind_resp",
    0x00000009: "bind_transceiver",
    0x80000009: "bind_transceiver_resp",
    0x00000015: "enquire_link",
    0x80000015: "enquire_link_resp",
}
CODES = {name: code for code, name in COMMANDS.items()}

ESME_RINVPASWD = 0x0E
ESME_RINVSYSID = 0x0F
ESME_RINVBNDSTS = 0x04


@dataclass
class Pdu:
    command: str
    status: int
    sequence: int
    body: bytes
    fields: dict = field(default_factory=dict)


@dataclass
class Submit:
    sequence: int
    source_addr: str
    source_addr_ton: int
    dest_addr_ton: int
    dest_addr_npi: int
    destination_addr: str
    esm_class: int
    registered_delivery: int
    data_coding: int
    short_message: bytes
    udh: tuple[int, int, int] | None  # (reference, total, sequence) of an 8-bit-reference IE
    payload: bytes  # short_message without the UDH
    message_id: str | None = None  # what we answered (None when we did not)

    @property
    def text(self) -> str:
        if self.data_coding == 0x08:
            return self.payload.decode("utf-16-be")
        return self.payload.decode("ascii")


class _Reader:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.pos = 0

    def cstr(self) -> str:
        end = self.body.index(b"\x00", self.pos)
        value = self.body[self.pos : end].decode("latin-1")
        self.pos = end + 1
        return value

    def byte(self) -> int:
        value = self.body[self.pos]
        self.pos += 1
        return value

    def octets(self, n: int) -> bytes:
        value = self.body[self.pos : self.pos + n]
        self.pos += n
        return value

    def tlvs(self) -> dict[int, bytes]:
        out = {}
        while self.pos + 4 <= len(self.body):
            tag, length = struct.unpack(">HH", self.body[self.pos : self.pos + 4])
            self.pos += 4
            out[tag] = self.octets(length)
        return out


def parse_udh(short_message: bytes) -> tuple[tuple[int, int, int] | None, bytes]:
    udhl = short_message[0]
    header, payload = short_message[1 : 1 + udhl], short_message[1 + udhl :]
    pos = 0
    while pos + 2 <= len(header):
        iei, iel = header[pos], header[pos + 1]
        data = header[pos + 2 : pos + 2 + iel]
        if iei == 0x00 and iel == 3:
            return (data[0], data[1], data[2]), payload
        pos += 2 + iel
    return None, payload


def cstr(value: str) -> bytes:
    return value.encode("latin-1") + b"\x00"


class _Connection:
    def __init__(self, server: SmppTestServer, sock: socket.socket) -> None:
        self.server = server
        self.sock = sock
        self.write_lock = threading.Lock()
        self.bound = False
        self.closed = False
        self.sequence = itertools.count(0x10000)
        self.thread = threading.Thread(target=self.run, name="smpp-test-smsc", daemon=True)

    def send(self, command: str, sequence: int, body: bytes = b"", status: int = 0) -> None:
        header = struct.pack(">LLLL", 16 + len(body), CODES[command], status, sequence)
        with self.write_lock:
            if self.closed:
                return
            with contextlib.suppress(OSError):
                self.sock.sendall(header + body)

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.sock.close()

    def _recv_exact(self, n: int) -> bytes | None:
        chunks = b""
        while len(chunks) < n:
            try:
                part = self.sock.recv(n - len(chunks))
            except OSError:
                return None
            if not part:
                return None
            chunks += part
        return chunks

    def run(self) -> None:
        while not self.closed:
            head = self._recv_exact(16)
            if head is None:
                break
            length, code, status, sequence = struct.unpack(">LLLL", head)
            body = self._recv_exact(length - 16) if length > 16 else b""
            if body is None:
                break
            pdu = Pdu(COMMANDS.get(code, f"0x{code:08x}"), status, sequence, body)
            self.server._record(pdu)
            self.handle(pdu)
        self.closed = True
        self.server._gone(self)

    def handle(self, pdu: Pdu) -> None:
        server = self.server
        if pdu.command == "bind_transceiver":
            r = _Reader(pdu.body)
            system_id, password, system_type = r.cstr(), r.cstr(), r.cstr()
            pdu.fields = {"system_id": system_id, "system_type": system_type}
            if system_id != server.system_id:
                self.send("bind_transceiver_resp", pdu.sequence, cstr(""), ESME_RINVSYSID)
            elif password != server.password:
                self.send("bind_transceiver_resp", pdu.sequence, cstr(""), ESME_RINVPASWD)
            else:
                self.bound = True
                self.send("bind_transceiver_resp", pdu.sequence, cstr("TESTSMSC"))
        elif pdu.command == "submit_sm":
            self.on_submit(pdu)
        elif pdu.command == "enquire_link":
            if server.answer_enquire_link:
                self.send("enquire_link_resp", pdu.sequence)
        elif pdu.command == "unbind":
            self.send("unbind_resp", pdu.sequence)
            self.close()
        elif pdu.command in ("deliver_sm_resp", "enquire_link_resp", "generic_nack"):
            pass
        else:
            self.send("generic_nack", pdu.sequence, status=0x03)

    def on_submit(self, pdu: Pdu) -> None:
        server = self.server
        r = _Reader(pdu.body)
        r.cstr()  # service_type
        source_ton, _source_npi, source = r.byte(), r.byte(), r.cstr()
        dest_ton, dest_npi, dest = r.byte(), r.byte(), r.cstr()
        esm_class, _protocol_id, _priority = r.byte(), r.byte(), r.byte()
        r.cstr()  # schedule_delivery_time
        r.cstr()  # validity_period
        registered_delivery, _replace, data_coding, _default_id = (r.byte() for _ in range(4))
        short_message = r.octets(r.byte())
        udh, payload = parse_udh(short_message) if esm_class & 0x40 else (None, short_message)
        submit = Submit(
            pdu.sequence,
            source,
            source_ton,
            dest_ton,
            dest_npi,
            dest,
            esm_class,
            registered_delivery,
            data_coding,
            short_message,
            udh,
            payload,
        )
        pdu.fields = {"submit": submit}
        if not self.bound:
            self.send("submit_sm_resp", pdu.sequence, cstr(""), ESME_RINVBNDSTS)
            return
        action = server._next_action()
        if action == "drop":
            with server._lock:
                server.submits.append(submit)
            self.close()
            return
        if isinstance(action, int) and action:  # an error status
            with server._lock:
                server.submits.append(submit)
            self.send("submit_sm_resp", pdu.sequence, cstr(""), action)
            return
        submit.message_id = server._new_message_id()
        with server._lock:
            server.submits.append(submit)
        if action == "skip":
            return
        if isinstance(action, float):  # answer late, from another thread
            timer = threading.Timer(
                action,
                self.send,
                args=("submit_sm_resp", pdu.sequence, cstr(submit.message_id)),
            )
            timer.daemon = True
            timer.start()
            return
        self.send("submit_sm_resp", pdu.sequence, cstr(submit.message_id))


class SmppTestServer:
    def __init__(self, system_id: str = "bank", password: str = "secret") -> None:  # noqa: S107
        self.system_id = system_id
        self.password = password
        self.pdus: list[Pdu] = []  # every PDU received, in order
        self.submits: list[Submit] = []
        self._lock = threading.Lock()
        self._actions: list[object] = []  # what to do with the next submits
        self._ids = itertools.count(1)
        self._connections: list[_Connection] = []
        self.connections_accepted = 0
        self.answer_enquire_link = True  # False: a link that looks up but is dead
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self.host, self.port = self._listener.getsockname()
        self._stopped = False
        self._thread = threading.Thread(target=self._accept_loop, name="smpp-test-accept", daemon=True)

    # -- lifecycle --

    def start(self) -> SmppTestServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept (Linux)
        with contextlib.suppress(OSError):
            self._listener.close()
        if self._thread.is_alive():
            self._thread.join(2)
        for conn in list(self._connections):
            conn.close()

    def __enter__(self) -> SmppTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        while not self._stopped:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            conn = _Connection(self, sock)
            with self._lock:
                self._connections.append(conn)
                self.connections_accepted += 1
            conn.thread.start()

    # -- controls --

    def fail_next(self, status: int, count: int = 1) -> None:
        with self._lock:
            self._actions.extend([status] * count)

    def skip_next(self, count: int = 1) -> None:
        with self._lock:
            self._actions.extend(["skip"] * count)

    def delay_next(self, seconds: float, count: int = 1) -> None:
        with self._lock:
            self._actions.extend([float(seconds)] * count)

    def drop_on_next(self) -> None:
        """Close the link when the next submit_sm arrives, without answering it."""
        with self._lock:
            self._actions.append("drop")

    def drop_link(self) -> None:
        for conn in self.bound_connections():
            conn.close()

    def bound_connections(self) -> list[_Connection]:
        with self._lock:
            return [conn for conn in self._connections if conn.bound and not conn.closed]

    def send_receipt(
        self,
        message_id: str,
        stat: str = "DELIVRD",
        *,
        with_tlvs: bool = True,
        phone: str = "13800001234",
    ) -> int:
        """A deliver_sm delivery receipt on the bound link; → its sequence number."""
        conn = self._bound()
        err = "000" if stat == "DELIVRD" else "001"
        text = (
            f"id:{message_id} sub:001 dlvrd:{'001' if stat == 'DELIVRD' else '000'} "
            f"submit date:2612011200 done date:2612011201 stat:{stat} err:{err} text:"
        ).encode("ascii")
        body = (
            cstr("")  # service_type
            + bytes((1, 1))
            + cstr(phone)
            + bytes((0, 0))
            + cstr("95580")
            + bytes((0x04, 0, 0))  # esm_class: SMSC delivery receipt
            + cstr("")
            + cstr("")
            + bytes((0, 0, 0, 0, len(text)))
            + text
        )
        if with_tlvs:
            states = {"ENROUTE": 1, "DELIVRD": 2, "EXPIRED": 3, "DELETED": 4, "UNDELIV": 5, "ACCEPTD": 6, "REJECTD": 8}
            rid = cstr(message_id)
            body += struct.pack(">HH", 0x001E, len(rid)) + rid
            body += struct.pack(">HHB", 0x0427, 1, states.get(stat, 7))
        sequence = next(conn.sequence)
        conn.send("deliver_sm", sequence, body)
        return sequence

    def send_enquire_link(self) -> int:
        conn = self._bound()
        sequence = next(conn.sequence)
        conn.send("enquire_link", sequence)
        return sequence

    # -- reading what happened --

    def received(self, command: str) -> list[Pdu]:
        with self._lock:
            return [p for p in self.pdus if p.command == command]

    def response_to(self, command: str, sequence: int) -> Pdu | None:
        for pdu in self.received(command):
            if pdu.sequence == sequence:
                return pdu
        return None

    def wait_for(self, predicate: Callable[[], object], timeout: float = 5.0) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.01)
        raise AssertionError("the test SMSC did not see what was expected in time")

    # -- internals --

    def _bound(self) -> _Connection:
        conns = self.wait_for(self.bound_connections)
        return conns[-1]

    def _record(self, pdu: Pdu) -> None:
        with self._lock:
            self.pdus.append(pdu)

    def _gone(self, conn: _Connection) -> None:
        with self._lock:
            if conn in self._connections:
                self._connections.remove(conn)

    def _next_action(self) -> object:
        with self._lock:
            return self._actions.pop(0) if self._actions else None

    def _new_message_id(self) -> str:
        return f"{next(self._ids):08X}"
