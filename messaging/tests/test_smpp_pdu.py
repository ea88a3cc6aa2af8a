"""The SMPP 3.4 codec: PDUs round trip, known octets, framing of a byte stream, malformed
input (an error, never a crash or a hang), UDH, receipts and concatenated MOs."""

import random

import pytest

from messaging.encoding import encode
from messaging.providers.smpp import pdu as P
from messaging.providers.smpp.deliver import MoAssembler, MoPart, is_receipt, message_text, parse_receipt


def roundtrip(pdu: P.Pdu) -> P.Pdu:
    return P.decode(P.encode(pdu))


def test_enquire_link_is_a_bare_header_in_network_order():
    data = P.encode(P.Pdu(P.ENQUIRE_LINK, 7))
    assert data == bytes.fromhex("00000010" "00000015" "00000000" "00000007")
    back = P.decode(data)
    assert (back.command, back.sequence, back.status, back.params, back.tlvs) == ("enquire_link", 7, 0, {}, {})


def test_submit_sm_octets_follow_the_spec_layout():
    pdu = P.Pdu(P.SUBMIT_SM, 2, params={
        "source_addr_ton": 5, "source_addr": "Herald", "dest_addr_ton": 1, "dest_addr_npi": 1,
        "destination_addr": "34600111222", "registered_delivery": 1, "data_coding": 0, "short_message": b"Hi"})
    body = (b"\x00" + b"\x05\x00" + b"Herald\x00" + b"\x01\x01" + b"34600111222\x00" + b"\x00\x00\x00"
            + b"\x00" + b"\x00" + b"\x01\x00\x00\x00" + b"\x02Hi")
    assert P.encode(pdu) == (16 + len(body)).to_bytes(4, "big") + bytes.fromhex("00000004 00000000 00000002") + body


def test_bind_transceiver_and_resp_round_trip():
    bind = P.Pdu(P.BIND_TRANSCEIVER, 1, params={"system_id": "herald", "password": "secret", "system_type": "SMPP",
                                                "interface_version": 0x34, "addr_ton": 0, "addr_npi": 0,
                                                "address_range": ""})
    assert roundtrip(bind) == bind
    resp = bind.response(system_id="SMSC")
    resp.tlvs["sc_interface_version"] = 0x34
    back = roundtrip(resp)
    assert back.command == "bind_transceiver_resp"
    assert back.sequence == 1
    assert back.params == {"system_id": "SMSC"}
    assert back.tlvs == {"sc_interface_version": 0x34}


def test_submit_and_deliver_sm_round_trip_with_tlvs():
    submit = P.Pdu(P.SUBMIT_SM, 99, params={
        "service_type": "", "source_addr_ton": 1, "source_addr_npi": 1, "source_addr": "34911222333",
        "dest_addr_ton": 1, "dest_addr_npi": 1, "destination_addr": "34600111222", "esm_class": 0,
        "protocol_id": 0, "priority_flag": 1, "schedule_delivery_time": "", "validity_period": "000001000000000R",
        "registered_delivery": 1, "replace_if_present_flag": 0, "data_coding": 8, "sm_default_msg_id": 0,
        "short_message": b""},
        tlvs={"message_payload": "Ĥello".encode("utf-16-be"), "sar_msg_ref_num": 513, "sar_total_segments": 3,
              "sar_segment_seqnum": 2, "user_message_reference": 7})
    assert roundtrip(submit) == submit
    deliver = P.Pdu(P.DELIVER_SM, 5, params={"source_addr": "34600111222", "destination_addr": "Herald",
                                             "esm_class": 0x04, "short_message": b"id:1 stat:DELIVRD"},
                    tlvs={"receipted_message_id": "abc123", "message_state": 2, "network_error_code": b"\x03\x00\x01",
                          0x1400: b"vendor"})
    back = roundtrip(deliver)
    assert back.tlvs == {"receipted_message_id": "abc123", "message_state": 2,
                         "network_error_code": b"\x03\x00\x01", 0x1400: b"vendor"}
    assert back.get("short_message") == b"id:1 stat:DELIVRD"
    assert back.get("source_addr_ton") == 0  # missing parameters encode as their zero value


def test_responses_and_bodiless_commands_round_trip():
    for pdu in (P.Pdu(P.SUBMIT_SM_RESP, 3, params={"message_id": "00000042"}),
                P.Pdu(P.DELIVER_SM_RESP, 4, params={"message_id": ""}),
                P.Pdu(P.UNBIND, 5), P.Pdu(P.UNBIND_RESP, 5), P.Pdu(P.ENQUIRE_LINK_RESP, 6),
                P.Pdu(P.GENERIC_NACK, 8, P.ESME_RINVCMDID)):
        assert roundtrip(pdu) == pdu


def test_an_error_response_may_have_no_body():
    data = P.encode(P.Pdu(P.SUBMIT_SM_RESP, 3, P.ESME_RTHROTTLED))
    assert len(data) == 16
    back = P.decode(data)
    assert back.status == P.ESME_RTHROTTLED
    assert back.get("message_id", "") == ""


def test_status_names_and_texts():
    assert P.status_name(P.ESME_RINVDSTADR) == "ESME_RINVDSTADR"
    assert P.status_name(0x58) == "ESME_RTHROTTLED"
    assert P.status_name(0x0D) == "ESME_RBINDFAIL"
    assert P.status_name(0x14) == "ESME_RMSGQFUL"
    assert P.status_text(0x0B) == "Invalid destination address"
    assert P.status_name(0x401) == "0x00000401"  # SMSC-specific codes keep their number
    assert P.STATUS_CODES["ESME_ROK"] == 0


def test_framer_cuts_pdus_whatever_the_chunking():
    pdus = [P.Pdu(P.ENQUIRE_LINK, 1), P.Pdu(P.SUBMIT_SM_RESP, 2, params={"message_id": "x" * 30}),
            P.Pdu(P.DELIVER_SM, 3, params={"short_message": b"hello"})]
    encoded = [P.encode(p) for p in pdus]
    stream = b"".join(encoded)
    # all at once
    assert P.Framer().feed(stream) == encoded
    assert [P.decode(f).get("short_message") for f in encoded] == [None, None, b"hello"]
    # one byte at a time
    framer, frames = P.Framer(), []
    for i in range(len(stream)):
        frames += framer.feed(stream[i:i + 1])
    assert frames == encoded
    assert framer.pending == 0
    # a partial PDU waits for the rest
    framer = P.Framer()
    assert framer.feed(stream[:20]) == [encoded[0]]
    assert framer.pending == 4


@pytest.mark.parametrize("length", [0, 4, 15, P.MAX_LENGTH + 1, 0xFFFFFFFF])
def test_framer_refuses_an_impossible_length_at_once(length):
    framer = P.Framer()
    with pytest.raises(P.FramingError) as error:
        framer.feed(length.to_bytes(4, "big") + b"\x00\x00\x00\x15")  # no body will follow: no waiting
    assert error.value.status == P.ESME_RINVCMDLEN


def test_malformed_pdus_are_errors_with_the_status_to_answer():
    with pytest.raises(P.PduError) as error:
        P.decode(b"\x00\x00\x00\x10\x00\x00")
    assert "at least 16 octets" in str(error.value)

    with pytest.raises(P.PduError) as error:  # command_length disagrees with the octets
        P.decode(bytes.fromhex("00000020 00000015 00000000 00000001"))
    assert error.value.status == P.ESME_RINVCMDLEN

    with pytest.raises(P.PduError) as error:  # unknown command: the sequence is kept for the generic_nack
        P.decode(bytes.fromhex("00000010 00000103 00000000 0000002A"))
    assert (error.value.status, error.value.command_id, error.value.sequence) == (P.ESME_RINVCMDID, 0x103, 42)

    def submit_with_body(body: bytes) -> bytes:
        return (16 + len(body)).to_bytes(4, "big") + bytes.fromhex("00000004 00000000 00000009") + body

    with pytest.raises(P.PduError) as error:  # source_addr without its NUL within 21 octets
        P.decode(submit_with_body(b"\x00\x01\x01" + b"1" * 40))
    assert error.value.status == P.ESME_RINVPARLEN
    assert error.value.sequence == 9

    good = P.encode(P.Pdu(P.SUBMIT_SM, 9, params={"short_message": b"abc"}))
    with pytest.raises(P.PduError) as error:  # sm_length says more than there is
        P.decode(submit_with_body(good[16:-4] + b"\xfe" + b"abc"))
    assert error.value.status == P.ESME_RINVMSGLEN

    with pytest.raises(P.PduError) as error:  # a body cut short before its last fields
        P.decode(submit_with_body(good[16:30]))
    assert error.value.status == P.ESME_RINVCMDLEN

    with pytest.raises(P.PduError) as error:  # TLV length beyond the end
        P.decode(submit_with_body(good[16:] + b"\x04\x24\x00\x10abc"))
    assert error.value.status == P.ESME_RINVOPTPARSTREAM

    with pytest.raises(P.PduError) as error:  # truncated TLV header
        P.decode(submit_with_body(good[16:] + b"\x04"))
    assert error.value.status == P.ESME_RINVOPTPARSTREAM

    with pytest.raises(P.PduError) as error:  # message_state must be one octet
        P.decode(submit_with_body(good[16:] + b"\x04\x27\x00\x02\x00\x02"))
    assert error.value.status == P.ESME_RINVPARLEN

    with pytest.raises(P.PduError) as error:  # an enquire_link has no body
        P.decode(bytes.fromhex("00000012 00000015 00000000 00000001 0000"))
    assert error.value.status == P.ESME_RINVCMDLEN


def test_encoding_refuses_what_smpp_cannot_carry():
    with pytest.raises(P.PduError, match="source_addr is 21 octets long; the most is 20"):
        P.encode(P.Pdu(P.SUBMIT_SM, 1, params={"source_addr": "1" * 21}))
    with pytest.raises(P.PduError, match="source_addr must be ASCII"):
        P.encode(P.Pdu(P.SUBMIT_SM, 1, params={"source_addr": "Café"}))
    with pytest.raises(P.PduError, match="use message_payload"):
        P.encode(P.Pdu(P.SUBMIT_SM, 1, params={"short_message": b"x" * 255}))
    with pytest.raises(P.PduError, match="esm_class must be an integer"):
        P.encode(P.Pdu(P.SUBMIT_SM, 1, params={"esm_class": 300}))
    with pytest.raises(P.PduError, match="unknown TLV"):
        P.encode(P.Pdu(P.SUBMIT_SM, 1, tlvs={"no_such_tlv": 1}))
    with pytest.raises(P.PduError, match="carries no optional parameters"):
        P.encode(P.Pdu(P.ENQUIRE_LINK, 1, tlvs={"message_state": 1}))
    with pytest.raises(P.PduError, match="cannot encode"):
        P.encode(P.Pdu(0x103, 1))


def test_random_garbage_only_ever_raises_pdu_errors():
    rng = random.Random(20240601)
    valid = P.encode(P.Pdu(P.DELIVER_SM, 1, params={"source_addr": "346", "short_message": b"hi"},
                           tlvs={"receipted_message_id": "1", "message_state": 2}))
    for _ in range(3000):
        if rng.random() < 0.5:  # a valid PDU with a few octets changed, its header length kept
            data = bytearray(valid)
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(16, len(data))] = rng.randrange(256)
        else:
            data = bytearray(rng.randbytes(rng.randint(0, 80)))
            if len(data) >= 4 and rng.random() < 0.7:
                data[:4] = len(data).to_bytes(4, "big")
        framer = P.Framer()
        try:
            frames = framer.feed(bytes(data))
        except P.FramingError:
            continue
        for frame in frames:
            try:
                P.decode(frame)
            except P.PduError:
                pass


def test_concatenation_udh():
    assert P.concat_udh(7, 3, 2) == bytes.fromhex("050003070302")
    concat, text = P.split_udh(P.concat_udh(200, 3, 1) + b"abc")
    assert concat == {"ref": 200, "total": 3, "seq": 1}
    assert text == b"abc"
    concat, text = P.split_udh(bytes.fromhex("06080401020302") + b"xy")  # 16-bit reference IE
    assert concat == {"ref": 0x0102, "total": 3, "seq": 2}
    assert text == b"xy"
    concat, text = P.split_udh(bytes.fromhex("03240100") + b"z")  # another IE only
    assert concat is None
    assert text == b"z"
    with pytest.raises(P.PduError, match="longer than the message"):
        P.split_udh(b"\x09\x00\x03")


def deliver(text: str = "", esm_class: int = 0x04, tlvs=None, data_coding: int = 0) -> P.Pdu:
    return P.Pdu(P.DELIVER_SM, 1, params={"esm_class": esm_class, "data_coding": data_coding,
                                          "short_message": encode(text, "gsm7" if data_coding == 0 else "ucs2")},
                 tlvs=tlvs or {})


def test_a_standard_receipt_text_is_parsed():
    pdu = deliver("id:0123456789 sub:001 dlvrd:001 submit date:2406011200 done date:2406011201 "
                  "stat:UNDELIV err:034 text:Hello @ $ world_")
    assert is_receipt(pdu)
    receipt = parse_receipt(pdu)
    assert (receipt.message_id, receipt.stat, receipt.error) == ("0123456789", "UNDELIV", "034")
    assert receipt.text == "Hello @ $ world_"  # the text field is GSM-7 decoded
    assert receipt.fields["done date"] == "2406011201"


def test_receipt_variants_and_tlvs():
    lax = parse_receipt(deliver("Id:AB12 Sub:1 Dlvrd:1 Submit date:2406011200 Done date:2406011201 Stat:delivrd "
                                "Err:0 Text:x"))
    assert (lax.message_id, lax.stat, lax.error) == ("AB12", "DELIVRD", "0")
    # The TLVs win over the text; a missing stat comes from message_state.
    tlv = parse_receipt(deliver("", tlvs={"receipted_message_id": "ff01", "message_state": 3,
                                          "network_error_code": b"\x03\x00\x0b"}))
    assert (tlv.message_id, tlv.stat, tlv.error) == ("ff01", "EXPIRED", "03000B")
    both = parse_receipt(deliver("id:12 stat:DELIVRD err:000", tlvs={"receipted_message_id": "0c"}))
    assert (both.message_id, both.stat) == ("0c", "DELIVRD")
    assert parse_receipt(deliver("no receipt here")) is None
    assert not is_receipt(deliver("an MO", esm_class=0))
    assert not is_receipt(deliver("an MO part", esm_class=0x40))


def test_mo_text_and_concatenation():
    part = P.Pdu(P.DELIVER_SM, 1, params={"esm_class": 0x40, "data_coding": 8,
                                          "short_message": P.concat_udh(9, 2, 1) + "Привет ".encode("utf-16-be")})
    assert message_text(part) == ("Привет ", {"ref": 9, "total": 2, "seq": 1})
    payload = P.Pdu(P.DELIVER_SM, 1, params={"data_coding": 0, "short_message": b""},
                    tlvs={"message_payload": encode("Long €", "gsm7"), "sar_msg_ref_num": 300,
                          "sar_total_segments": 2, "sar_segment_seqnum": 2})
    assert message_text(payload) == ("Long €", {"ref": 300, "total": 2, "seq": 2})

    assembler = MoAssembler(max_wait=60)
    second = MoPart("34600111222", "Herald", "world", {"ref": 9, "total": 2, "seq": 2})
    first = MoPart("34600111222", "Herald", "Hello ", {"ref": 9, "total": 2, "seq": 1})
    assert assembler.add(second, now=0) is None          # parts may come in any order
    other = MoPart("34600999888", "Herald", "alone", None)
    assert assembler.add(other, now=0) is other          # a single-part MO is ready at once
    joined = assembler.add(first, now=1)
    assert (joined.text, joined.source, joined.concat) == ("Hello world", "34600111222", None)
    assert len(assembler) == 0
    # An incomplete MO is given out as it is once it waited long enough.
    assembler.add(MoPart("1", "2", "part one ", {"ref": 1, "total": 3, "seq": 1}), now=0)
    assembler.add(MoPart("1", "2", "part three", {"ref": 1, "total": 3, "seq": 3}), now=10)
    assert assembler.expired(now=59) == []
    [partial] = assembler.expired(now=61)
    assert partial.text == "part one part three"
