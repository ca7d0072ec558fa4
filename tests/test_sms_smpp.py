"""The SMPP 3.4 gateway against the test SMSC of tests/smpp_server.py (issue 15)."""

from __future__ import annotations

import logging
import threading

import pytest
import smpplib.consts as c
import smpplib.gsm

from notifications.gateways.base import GatewayError, GatewayRejected, OutgoingSms, Receipt
from notifications.gateways.smpp import SmppGateway, mask_phone, split_message
from tests.smpp_server import SmppTestServer

PHONE = "13800001234"
SHORT_ZH = "您尾号0001账户支出¥100.00"
# 160 Chinese characters: 3 segments of at most 67 UCS-2 characters.
LONG_ZH = ("【农合银行】您尾号0001的账户于今日支出人民币一百元整，余额充足，如有疑问请致电客服热线。" * 4)[:160]


class Receipts:
    def __init__(self) -> None:
        self.items: list[Receipt] = []
        self.arrived = threading.Event()
        self.fail_next = 0

    def __call__(self, receipt: Receipt) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("row not written yet")
        self.items.append(receipt)
        self.arrived.set()


@pytest.fixture
def smsc():
    with SmppTestServer(system_id="bank", password="secret") as server:
        yield server


@pytest.fixture
def receipts():
    return Receipts()


def make_gateway(smsc: SmppTestServer, receipts=None, **kwargs) -> SmppGateway:
    options = {"timeout_s": 1.0, "enquire_link_s": 30, **kwargs}
    return SmppGateway(
        smsc.host,
        smsc.port,
        "bank",
        "secret",
        source_addr="95580",
        on_receipt=receipts,
        **options,
    )


@pytest.fixture
def gateway(smsc, receipts):
    gw = make_gateway(smsc, receipts)
    yield gw
    gw.close()


def sms(row_id: int, text: str = SHORT_ZH, phone: str = PHONE) -> OutgoingSms:
    return OutgoingSms(id=row_id, phone=phone, text=text)


def test_binds_as_transceiver_with_the_configured_credentials(smsc, gateway):
    gateway.connect()

    assert gateway.is_bound
    (bind,) = smsc.received("bind_transceiver")
    assert bind.fields["system_id"] == "bank"


def test_a_wrong_password_is_a_gateway_error_not_a_rejection(smsc):
    gw = SmppGateway(smsc.host, smsc.port, "bank", "wrong", timeout_s=1.0)

    with pytest.raises(GatewayError, match="bind refused") as info:
        gw.send(sms(1))

    assert info.value.maybe_sent is False
    assert smsc.received("submit_sm") == []


def test_an_smsc_that_is_down_is_a_gateway_error_and_nothing_was_sent():
    server = SmppTestServer().start()
    host, port = server.host, server.port
    server.stop()
    gw = SmppGateway(host, port, "bank", "secret", timeout_s=1.0)

    with pytest.raises(GatewayError) as info:
        gw.send(sms(1))

    assert info.value.maybe_sent is False


def test_a_short_chinese_message_is_one_ucs2_segment_with_the_right_bytes(smsc, gateway):
    submitted = gateway.send(sms(1))

    (submit,) = smsc.submits
    assert submit.data_coding == 0x08
    assert submit.esm_class == 0x00
    assert submit.udh is None
    assert submit.short_message == SHORT_ZH.encode("utf-16-be")
    assert submit.short_message[:4] == bytes((0x60, 0xA8, 0x5C, 0x3E))  # 您 U+60A8, 尾 U+5C3E
    assert submit.registered_delivery == 1
    assert (submit.destination_addr, submit.source_addr) == (PHONE, "95580")
    assert submitted.gateway_id == submit.message_id
    assert submitted.segments == 1


def test_an_international_number_goes_with_ton_international(smsc, gateway):
    gateway.send(sms(1, phone="+8613800001234"))

    (submit,) = smsc.submits
    assert (submit.dest_addr_ton, submit.dest_addr_npi) == (1, 1)
    assert submit.destination_addr == "8613800001234"


def test_plain_ascii_goes_in_the_default_alphabet_and_symbols_in_ucs2(smsc, gateway):
    gateway.send(sms(1, text="Your card ending 0001: debit 100.00 CNY."))
    gateway.send(sms(2, text="Balance $100 @ branch_01"))  # $ @ _ differ between GSM and ASCII

    plain, symbols = smsc.submits
    assert plain.data_coding == 0x00
    assert plain.short_message == b"Your card ending 0001: debit 100.00 CNY."
    assert symbols.data_coding == 0x08


def test_a_160_character_chinese_message_is_three_segments_with_one_udh_reference(smsc, gateway):
    assert len(LONG_ZH) == 160

    submitted = gateway.send(sms(1, text=LONG_ZH))

    segments = smsc.submits
    assert len(segments) == 3
    assert submitted.segments == 3
    assert submitted.gateway_id == segments[0].message_id
    references = {s.udh[0] for s in segments}
    assert len(references) == 1
    assert [s.udh[1:] for s in segments] == [(3, 1), (3, 2), (3, 3)]
    for s in segments:
        assert s.esm_class == 0x40
        assert s.data_coding == 0x08
        assert s.short_message[:6] == bytes((0x05, 0x00, 0x03, s.udh[0], 3, s.udh[2]))
        assert len(s.payload) <= 134  # 67 UCS-2 characters
        assert s.registered_delivery == 1
    assert [len(s.text) for s in segments] == [67, 67, 26]
    assert "".join(s.text for s in segments) == LONG_ZH


def test_two_long_messages_get_different_references(smsc, gateway):
    gateway.send(sms(1, text=LONG_ZH))
    gateway.send(sms(2, text=LONG_ZH))

    first = {s.udh[0] for s in smsc.submits[:3]}
    second = {s.udh[0] for s in smsc.submits[3:]}
    assert len(first) == len(second) == 1
    assert first != second


def test_split_matches_smpplib_make_parts_except_the_reference():
    # smpplib.gsm.make_parts splits the same way but picks the reference at random (two messages
    # in a row may share one) and cuts by bytes, so it can split a surrogate pair.
    parts, coding, esm_class = smpplib.gsm.make_parts(LONG_ZH, encoding=c.SMPP_ENCODING_ISO10646)
    ours = split_message(LONG_ZH, reference=parts[0][3])

    assert (coding, esm_class) == (0x08, 0x40)
    assert [s.short_message for s in ours] == parts


def test_a_surrogate_pair_is_never_cut_between_segments():
    text = "好" * 66 + "😀" + "好" * 10  # the emoji straddles the 67th code unit

    segments = split_message(text, reference=7)

    decoded = [s.short_message[6:].decode("utf-16-be") for s in segments]  # raises if cut
    assert "".join(decoded) == text
    assert decoded[0] == "好" * 66


def test_a_single_segment_holds_70_chinese_characters():
    assert len(split_message("好" * 70, reference=1)) == 1
    assert len(split_message("好" * 71, reference=1)) == 2


def test_a_receipt_is_reported_with_the_gateway_id_and_state(smsc, gateway, receipts):
    submitted = gateway.send(sms(1))

    sequence = smsc.send_receipt(submitted.gateway_id, "DELIVRD")

    assert receipts.arrived.wait(3)
    (receipt,) = receipts.items
    assert receipt.gateway_id == submitted.gateway_id
    assert receipt.state == "delivered"
    assert "DELIVRD" in receipt.detail
    assert receipt.at.tzinfo is not None
    resp = smsc.wait_for(lambda: smsc.response_to("deliver_sm_resp", sequence))
    assert resp.status == 0


def test_a_receipt_in_the_text_only_is_parsed_too(smsc, gateway, receipts):
    submitted = gateway.send(sms(1))

    smsc.send_receipt(submitted.gateway_id, "UNDELIV", with_tlvs=False)

    assert receipts.arrived.wait(3)
    (receipt,) = receipts.items
    assert (receipt.gateway_id, receipt.state) == (submitted.gateway_id, "failed")
    assert "UNDELIV" in receipt.detail


@pytest.mark.parametrize("stat", ["REJECTD", "EXPIRED"])
def test_rejected_and_expired_receipts_are_failures(smsc, gateway, receipts, stat):
    submitted = gateway.send(sms(1))

    smsc.send_receipt(submitted.gateway_id, stat)

    assert receipts.arrived.wait(3)
    assert receipts.items[0].state == "failed"


def test_an_intermediate_receipt_is_acknowledged_but_not_reported(smsc, gateway, receipts):
    submitted = gateway.send(sms(1))

    sequence = smsc.send_receipt(submitted.gateway_id, "ENROUTE")

    resp = smsc.wait_for(lambda: smsc.response_to("deliver_sm_resp", sequence))
    assert resp.status == 0
    assert receipts.items == []


def test_a_split_message_is_reported_once_when_all_segments_are_delivered(smsc, gateway, receipts):
    submitted = gateway.send(sms(1, text=LONG_ZH))
    ids = [s.message_id for s in smsc.submits]

    for message_id in reversed(ids):
        smsc.send_receipt(message_id, "DELIVRD")

    assert receipts.arrived.wait(3)
    smsc.wait_for(lambda: len(smsc.received("deliver_sm_resp")) == 3)
    assert [(r.gateway_id, r.state) for r in receipts.items] == [(submitted.gateway_id, "delivered")]


def test_a_split_message_fails_when_one_segment_fails(smsc, gateway, receipts):
    submitted = gateway.send(sms(1, text=LONG_ZH))
    first, second, third = (s.message_id for s in smsc.submits)

    smsc.send_receipt(first, "DELIVRD")
    smsc.send_receipt(second, "UNDELIV")
    smsc.send_receipt(third, "DELIVRD")

    smsc.wait_for(lambda: len(smsc.received("deliver_sm_resp")) == 3)
    assert [(r.gateway_id, r.state) for r in receipts.items] == [(submitted.gateway_id, "failed")]


def test_a_failing_receipt_handler_makes_the_smsc_retry(smsc, gateway, receipts):
    submitted = gateway.send(sms(1))
    receipts.fail_next = 1

    first = smsc.send_receipt(submitted.gateway_id)
    resp = smsc.wait_for(lambda: smsc.response_to("deliver_sm_resp", first))
    assert resp.status == c.SMPP_ESME_RX_T_APPN

    second = smsc.send_receipt(submitted.gateway_id)
    resp = smsc.wait_for(lambda: smsc.response_to("deliver_sm_resp", second))
    assert resp.status == 0
    assert [r.gateway_id for r in receipts.items] == [submitted.gateway_id]


def test_after_a_dropped_link_the_next_send_reconnects(smsc, gateway):
    gateway.send(sms(1))
    smsc.drop_link()
    smsc.wait_for(lambda: not gateway.is_bound)

    submitted = gateway.send(sms(2))

    assert len(smsc.received("bind_transceiver")) == 2
    assert submitted.gateway_id == smsc.submits[-1].message_id


def test_a_link_dropped_after_the_submit_went_out_is_maybe_sent(smsc, gateway):
    smsc.drop_on_next()

    with pytest.raises(GatewayError) as info:
        gateway.send(sms(1))

    assert info.value.maybe_sent is True
    assert len(smsc.submits) == 1


def test_a_submit_whose_response_never_comes_is_maybe_sent(smsc, gateway):
    smsc.skip_next()

    with pytest.raises(GatewayError) as info:
        gateway.send(sms(1))

    assert info.value.maybe_sent is True
    with pytest.raises(GatewayError) as unknown:
        gateway.query(sms(1))  # SMPP cannot look the row up: it must not say "not taken"
    assert unknown.value.maybe_sent is True
    assert gateway.send(sms(2)).gateway_id == smsc.submits[-1].message_id  # the link still works


def test_a_late_response_is_remembered_for_query(smsc, gateway):
    smsc.delay_next(1.5)  # the gateway waits 1 s

    with pytest.raises(GatewayError):
        gateway.send(sms(1))

    late_id = smsc.submits[0].message_id
    smsc.wait_for(lambda: gateway.query(sms(1)) if _known(gateway, 1) else None)
    assert gateway.query(sms(1)).gateway_id == late_id


def _known(gateway: SmppGateway, row_id: int) -> bool:
    try:
        gateway.query(sms(row_id))
    except GatewayError:
        return False
    return True


def test_query_answers_for_a_row_this_process_submitted(smsc, gateway):
    submitted = gateway.send(sms(1))

    assert gateway.query(sms(1)) == submitted


@pytest.mark.parametrize("status", [c.SMPP_ESME_RTHROTTLED, c.SMPP_ESME_RMSGQFUL, c.SMPP_ESME_RSYSERR])
def test_throttling_and_temporary_errors_are_gateway_errors(smsc, gateway, status):
    smsc.fail_next(status)

    with pytest.raises(GatewayError) as info:
        gateway.send(sms(1))

    assert info.value.maybe_sent is False
    assert f"0x{status:02x}" in str(info.value)
    assert gateway.send(sms(1)).gateway_id  # retried, it goes


@pytest.mark.parametrize("status", [c.SMPP_ESME_RINVDSTADR, c.SMPP_ESME_RINVDSTTON])
def test_an_invalid_destination_is_rejected_for_good(smsc, gateway, status):
    smsc.fail_next(status)

    with pytest.raises(GatewayRejected):
        gateway.send(sms(1))


def test_a_refused_later_segment_says_the_first_ones_went_out(smsc, gateway):
    smsc.fail_next(0, count=1)  # the first segment goes through (status 0 = normal answer)
    smsc.fail_next(c.SMPP_ESME_RTHROTTLED)

    with pytest.raises(GatewayError) as info:
        gateway.send(sms(1, text=LONG_ZH))

    assert info.value.maybe_sent is True
    assert len(smsc.submits) == 2


def test_threads_of_one_process_share_the_session_and_never_interleave_segments(smsc, gateway):
    errors: list[BaseException] = []

    def worker(row_id: int) -> None:
        try:
            gateway.send(sms(row_id, text=LONG_ZH))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(1, 6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)

    assert errors == []
    assert len(smsc.received("bind_transceiver")) == 1
    segments = smsc.submits
    assert len(segments) == 15
    for n in range(0, 15, 3):
        triple = segments[n : n + 3]
        assert {s.udh[0] for s in triple} == {triple[0].udh[0]}
        assert [s.udh[2] for s in triple] == [1, 2, 3]
    assert len({segments[n].udh[0] for n in range(0, 15, 3)}) == 5


def test_after_a_fork_the_child_binds_its_own_session(smsc, gateway, monkeypatch, caplog):
    gateway.connect()
    parent = gateway._session
    parent_pid = __import__("os").getpid()
    monkeypatch.setattr("notifications.gateways.smpp.os.getpid", lambda: parent_pid + 1)

    gateway.send(sms(1))

    assert len(smsc.received("bind_transceiver")) == 2
    assert smsc.received("unbind") == []  # the parent's link is not unbound by the child
    # The parent's session as the child sees it is dead: its reader (here, in the same process)
    # ends without taking the closed socket for an unreadable PDU (it logged one, with a
    # traceback, after the test — "--- Logging error ---" in the CI log).
    assert parent.alive is False
    parent.thread.join(2)
    assert not parent.thread.is_alive()
    assert "unreadable PDU" not in caplog.text


def test_enquire_link_from_the_smsc_is_answered_while_idle(smsc, gateway):
    gateway.connect()

    sequence = smsc.send_enquire_link()

    resp = smsc.wait_for(lambda: smsc.response_to("enquire_link_resp", sequence))
    assert resp.status == 0


def test_the_gateway_sends_enquire_link_when_the_link_is_quiet(smsc, receipts):
    gw = make_gateway(smsc, receipts, enquire_link_s=0.2)
    try:
        gw.connect()
        smsc.wait_for(lambda: len(smsc.received("enquire_link")) >= 2, timeout=3)
        assert gw.is_bound
    finally:
        gw.close()


def test_an_unanswered_enquire_link_drops_the_link_and_the_next_send_rebinds(smsc, receipts):
    gw = make_gateway(smsc, receipts, enquire_link_s=0.2, timeout_s=0.5)
    try:
        gw.connect()
        smsc.answer_enquire_link = False
        smsc.wait_for(lambda: not gw.is_bound, timeout=3)
        smsc.answer_enquire_link = True

        gw.send(sms(1))

        assert len(smsc.received("bind_transceiver")) == 2
    finally:
        gw.close()


def test_close_unbinds(smsc, receipts):
    gw = make_gateway(smsc, receipts)
    gw.connect()

    gw.close()

    assert smsc.received("unbind")
    assert not gw.is_bound


def test_close_returns_once_the_reader_thread_has_stopped(smsc, receipts, monkeypatch):
    """The reader reports the SMSC's unbind_resp after close() has seen the link closed; a slow
    log handler stands for it: close() must not leave the thread logging behind it (pytest's
    capture, or the handlers at exit, are gone by then: "--- Logging error ---" in CI)."""
    from notifications.gateways import smpp

    gw = make_gateway(smsc, receipts)
    gw.connect()
    session = gw._session
    slow = threading.Event()
    real_info = smpp.logger.info

    def slow_info(*args, **kwargs):
        if threading.current_thread() is session.thread:
            slow.wait(0.3)
        real_info(*args, **kwargs)

    monkeypatch.setattr(smpp.logger, "info", slow_info)
    gw.close()

    assert not session.thread.is_alive()


def test_a_read_failing_because_the_link_was_closed_here_is_not_an_unreadable_pdu(smsc, receipts, caplog):
    """The link dropped by this process (a failed write, close) takes the socket from under the
    reader: smpplib then fails with whatever it finds (``AttributeError`` on the missing socket),
    which is a closed link, not a PDU it could not parse (an ERROR with a traceback in the log)."""
    gw = make_gateway(smsc, receipts)
    gw.connect()
    session = gw._session
    closed_here = threading.Event()

    def read_pdu():
        closed_here.wait(2)
        raise AttributeError("'NoneType' object has no attribute 'recv'")

    session.client.read_pdu = read_pdu
    smsc.send_enquire_link()  # something for the reader's select to see
    with caplog.at_level(logging.INFO, logger="notifications.smpp"):
        session.drop("write failed")
        closed_here.set()
        session.thread.join(3)
    assert not session.thread.is_alive()
    assert not [r for r in caplog.records if "unreadable PDU" in r.getMessage()]
    gw.close()


def test_no_full_phone_number_nor_text_in_the_logs(smsc, gateway, caplog):
    caplog.set_level(logging.DEBUG)
    smsc.fail_next(c.SMPP_ESME_RINVDSTADR)
    with pytest.raises(GatewayRejected):
        gateway.send(sms(1))
    smsc.skip_next()
    with pytest.raises(GatewayError):
        gateway.send(sms(2))
    submitted = gateway.send(sms(3))
    smsc.send_receipt(submitted.gateway_id)
    smsc.wait_for(lambda: smsc.received("deliver_sm_resp"))

    logged = "\n".join(record.getMessage() for record in caplog.records)
    logged += "\n".join(str(record.args) for record in caplog.records)
    assert "*******1234" in logged
    assert PHONE not in logged
    assert PHONE.encode().hex() not in logged
    assert SHORT_ZH not in logged
    assert SHORT_ZH.encode("utf-16-be").hex() not in logged


def test_mask_phone_keeps_the_last_four_digits():
    assert mask_phone("13800001234") == "*******1234"
    assert mask_phone("+8613800001234") == "**********1234"
