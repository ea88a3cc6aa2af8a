"""Herald's SMSC simulator, spoken to over real loopback sockets: binds, submits and their
refusals, receipts (seeded outcomes), MOs, malformed input, and the management command."""

import concurrent.futures
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from messaging.encoding import encode
from messaging.providers.smpp import pdu as P
from messaging.providers.smpp.deliver import message_text, parse_receipt
from messaging.smsc import SmscSimulator

ROOT = Path(__file__).resolve().parents[2]


class RawEsme:
    """A blocking SMPP peer that writes exactly the octets a test gives it."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=3)
        self.framer = P.Framer()
        self.frames: list[bytes] = []
        self.inbox: list[P.Pdu] = []   # PDUs read while waiting for a response, for later
        self.sequence = 0

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, command_id: int, params=None, tlvs=None) -> int:
        self.sequence += 1
        self.send_raw(P.encode(P.Pdu(command_id, self.sequence, P.ESME_ROK, params or {}, tlvs or {})))
        return self.sequence

    def receive(self, timeout: float = 3.0) -> P.Pdu:
        """The next PDU from the SMSC (those set aside while waiting for a response first)."""
        return self.inbox.pop(0) if self.inbox else self._read(timeout)

    def _read(self, timeout: float = 3.0) -> P.Pdu:
        deadline = time.monotonic() + timeout
        while not self.frames:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed by the SMSC")
            self.frames += self.framer.feed(data)
        return P.decode(self.frames.pop(0))

    def request(self, command_id: int, params=None, tlvs=None) -> P.Pdu:
        sequence = self.send(command_id, params, tlvs)
        while True:
            pdu = self._read()
            if pdu.sequence == sequence and pdu.is_response:
                return pdu
            self.inbox.append(pdu)

    def bind(self, system_id="herald", password="secret", command=P.BIND_TRANSCEIVER) -> P.Pdu:
        return self.request(command, {"system_id": system_id, "password": password, "interface_version": 0x34})

    def submit(self, destination="34600111222", text="Hello", registered_delivery=1, **params) -> P.Pdu:
        return self.request(P.SUBMIT_SM, {"source_addr": "Herald", "source_addr_ton": 5, "destination_addr": destination,
                                          "registered_delivery": registered_delivery,
                                          "short_message": encode(text, "gsm7"), **params})

    def closed(self, timeout: float = 2.0) -> bool:
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.frames += self.framer.feed(data)
        except TimeoutError:
            return False
        except OSError:
            return True

    def close(self):
        self.sock.close()


@pytest.fixture
def smsc():
    with SmscSimulator.threaded(port=0, delivery_delay=0.01, seed=3, id_prefix="") as simulator:
        yield simulator


@pytest.fixture
def esme(smsc):
    peers = []

    def connect():
        peers.append(RawEsme(smsc.port))
        return peers[-1]

    yield connect
    for peer in peers:
        peer.close()


def test_bind_with_the_right_password_and_refusals(smsc, esme):
    good = esme().bind()
    assert (good.command, good.status, good.params["system_id"]) == ("bind_transceiver_resp", 0, "HeraldSMSC")
    assert good.tlvs == {"sc_interface_version": 0x34}
    wrong = esme().bind(password="nope")
    assert P.status_name(wrong.status) == "ESME_RBINDFAIL"
    unknown = esme().bind(system_id="nobody")
    assert unknown.status == P.ESME_RBINDFAIL
    assert [(system_id, ok) for _at, system_id, ok in smsc.bind_attempts] == [
        ("herald", True), ("herald", False), ("nobody", False)]


def test_submit_needs_a_transmitting_bind(esme):
    peer = esme()
    assert peer.submit().status == P.ESME_RINVBNDSTS
    assert peer.bind(command=P.BIND_RECEIVER).status == P.ESME_ROK
    assert peer.submit().status == P.ESME_RINVBNDSTS  # a receiver cannot submit
    assert peer.bind().status == P.ESME_RALYBND


def test_submits_get_increasing_ids_and_are_recorded(smsc, esme):
    peer = esme()
    peer.bind()
    first = peer.submit(text="Hello @ world", registered_delivery=0)
    second = peer.request(P.SUBMIT_SM, {"destination_addr": "34600111223", "data_coding": 8,
                                        "short_message": "Привет".encode("utf-16-be")})
    assert (first.status, first.params["message_id"]) == (0, "00000001")
    assert (second.status, second.params["message_id"]) == (0, "00000002")
    one, two = smsc.received
    assert (one.destination, one.data_coding, one.text, one.udh, one.system_id) == (
        "34600111222", 0, "Hello @ world", None, "herald")
    assert (two.data_coding, two.text) == (8, "Привет")


def test_refused_submits(smsc, esme):
    peer = esme()
    peer.bind()
    assert P.status_name(peer.submit(destination="12ab").status) == "ESME_RINVDSTADR"
    assert peer.submit(destination="123").status == P.ESME_RINVDSTADR   # too short to be a number
    smsc.reject["34600000009"] = P.ESME_RMSGQFUL
    assert peer.submit(destination="34600000009").status == P.ESME_RMSGQFUL
    refused = [r for r in smsc.received if r.status]
    assert [(r.destination, r.message_id) for r in refused] == [("12ab", ""), ("123", ""), ("34600000009", "")]


def test_throttling_above_max_tps(smsc, esme):
    smsc.max_tps = 3
    peer = esme()
    peer.bind()
    statuses = [peer.submit(registered_delivery=0).status for _ in range(5)]
    assert statuses == [0, 0, 0, P.ESME_RTHROTTLED, P.ESME_RTHROTTLED]


def test_receipts_follow_the_seeded_rates_and_forced_outcomes(smsc, esme):
    smsc.deliver_rate, smsc.expire_rate = 0.5, 0.25
    smsc.outcomes["34600000001"] = "REJECTD"
    peer = esme()
    peer.bind()
    ids = {}
    for i in range(40):
        destination = "34600000001" if i == 0 else f"347{i:08d}"
        ids[peer.submit(destination=destination).params["message_id"]] = destination
    receipts = {}
    while len(receipts) < 40:
        pdu = peer.receive()
        assert pdu.command == "deliver_sm"
        assert pdu.params["esm_class"] == 0x04
        receipt = parse_receipt(pdu)
        receipts[receipt.message_id] = receipt
        peer.send_raw(P.encode(pdu.response(message_id="")))
    assert set(receipts) == set(ids)
    first = receipts["00000001"]
    assert (first.stat, first.error) == ("REJECTD", "003")
    stats = [receipts[i].stat for i in sorted(receipts)][1:]
    assert set(stats) == {"DELIVRD", "EXPIRED", "UNDELIV"}
    # The same seed gives the same outcomes.
    again = SmscSimulator(seed=3, deliver_rate=0.5, expire_rate=0.25)
    assert [again._draw() for _ in range(39)] == stats
    assert smsc.stats["receipts"] == 40
    assert P.MESSAGE_STATES[pdu.tlvs["message_state"]] == receipt.stat
    deadline = time.monotonic() + 2
    while smsc.stats["deliver_resps"] < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert smsc.stats["deliver_resps"] == 40


def test_registered_delivery_decides_which_receipts_are_sent(smsc, esme):
    smsc.outcomes.update({"34600000001": "DELIVRD", "34600000002": "UNDELIV"})
    peer = esme()
    peer.bind()
    peer.submit(destination="34600000001", registered_delivery=0)
    peer.submit(destination="34600000001", registered_delivery=2)    # failures only
    third = peer.submit(destination="34600000002", registered_delivery=2)
    receipt = parse_receipt(peer.receive())
    assert (receipt.message_id, receipt.stat) == (third.params["message_id"], "UNDELIV")
    with pytest.raises(TimeoutError):
        peer.receive(timeout=0.3)


def test_receipts_wait_for_a_receiving_bind(smsc, esme):
    smsc.delivery_delay = 0.05
    sender = esme()
    sender.bind(command=P.BIND_TRANSMITTER)
    message_id = sender.submit().params["message_id"]
    time.sleep(0.2)  # the receipt is due while nobody can receive it
    receiver = esme()
    receiver.bind(command=P.BIND_RECEIVER)
    assert parse_receipt(receiver.receive()).message_id == message_id


def test_injected_mos_long_ones_in_parts(smsc, esme):
    peer = esme()
    peer.bind()
    assert smsc.run(smsc.inject_mo("+34600111222", "Herald", "Hola ¿qué tal?")) == 1
    mo = peer.receive()
    assert (mo.params["source_addr"], mo.params["destination_addr"], mo.params["esm_class"]) == (
        "34600111222", "Herald", 0)
    assert message_text(mo) == ("Hola ¿qué tal?", None)
    text = "Ж" * 100  # UCS-2: two parts of at most 67
    assert smsc.run(smsc.inject_mo("+34600111222", "Herald", text)) == 2
    parts = [message_text(peer.receive()) for _ in range(2)]
    assert [concat["seq"] for _text, concat in parts] == [1, 2]
    assert "".join(t for t, _concat in parts) == text


def test_an_mo_every_n_submits(smsc, esme):
    smsc.mo_every = 2
    peer = esme()
    peer.bind()
    peer.submit(registered_delivery=0)
    second = peer.submit(destination="34600999888", registered_delivery=0)
    mo = peer.receive()
    assert mo.params["esm_class"] == 0
    assert mo.params["source_addr"] == "34600999888"
    assert message_text(mo)[0] == f"Reply to {second.params['message_id']}"


def test_enquire_link_both_ways(smsc, esme):
    peer = esme()
    peer.bind()
    assert peer.request(P.ENQUIRE_LINK).command == "enquire_link_resp"
    assert smsc.stats["enquire_links"] == 1
    # The SMSC asks too; a client that answers gives ESME_ROK.
    result = concurrent.futures.Future()
    threading.Thread(target=lambda: result.set_result(smsc.run(smsc.enquire_link_all()))).start()
    pdu = peer.receive()
    assert pdu.command == "enquire_link"
    peer.send_raw(P.encode(pdu.response()))
    assert result.result(3) == [0]


def test_malformed_input_gets_a_generic_nack_and_the_session_goes_on(smsc, esme):
    peer = esme()
    peer.bind()
    peer.send_raw(bytes.fromhex("00000010 00000103 00000000 00000063"))  # data_sm: not supported
    nack = peer.receive()
    assert (nack.command, nack.sequence, P.status_name(nack.status)) == ("generic_nack", 0x63, "ESME_RINVCMDID")
    peer.send_raw(bytes.fromhex("00000011 00000004 00000000 00000064 00"))  # submit_sm cut short
    nack = peer.receive()
    assert (nack.command, nack.sequence, nack.status) == ("generic_nack", 0x64, P.ESME_RINVCMDLEN)
    assert peer.submit(registered_delivery=0).status == P.ESME_ROK  # still bound
    assert smsc.stats["generic_nacks_sent"] == 2


@pytest.mark.parametrize("length", [8, 0x7FFFFFFF])
def test_an_impossible_command_length_closes_the_connection(smsc, esme, length):
    peer = esme()
    peer.bind()
    peer.send_raw(length.to_bytes(4, "big") + b"\x00\x00\x00\x15")
    assert peer.closed()
    nack = P.decode(peer.frames.pop(0))
    assert (nack.command, nack.status) == ("generic_nack", P.ESME_RINVCMDLEN)
    assert esme().bind().status == P.ESME_ROK  # the server itself carries on


def test_drop_connections_and_unbind(smsc, esme):
    peer = esme()
    peer.bind()
    assert smsc.run(smsc.drop_connections()) == 1
    assert peer.closed()
    other = esme()
    other.bind()
    assert other.request(P.UNBIND).command == "unbind_resp"
    assert other.closed()


def test_the_window_is_measured_with_a_response_delay(smsc, esme):
    smsc.response_delay = 0.1
    peer = esme()
    peer.bind()
    for i in range(4):
        peer.send(P.SUBMIT_SM, {"destination_addr": f"346000000{i:02d}", "short_message": b"x"})
    responses = [peer.receive() for _ in range(4)]
    assert [r.command for r in responses] == ["submit_sm_resp"] * 4
    assert smsc.max_outstanding == 4


def test_the_management_command_serves_and_sends_its_mo():
    process = subprocess.Popen(
        [sys.executable, "manage.py", "smsc_simulator", "--port", "0", "--system-id", "demo", "--password", "pw",
         "--delivery-delay", "0.01", "--deliver-rate", "1", "--expire-rate", "0", "--seed", "1", "--duration", "20", "--stats-every", "0",
         "--mo", "+34600111222:Herald:Hello from the phone"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        match = re.search(r"listening on 127\.0\.0\.1:(\d+) \(system_id demo\)", line)
        assert match, line + process.stderr.read()
        peer = RawEsme(int(match.group(1)))
        assert peer.bind("demo", "pw").status == P.ESME_ROK
        mo = peer.receive()  # the --mo, kept until this first bind
        assert message_text(mo)[0] == "Hello from the phone"
        peer.send_raw(P.encode(mo.response(message_id="")))
        message_id = peer.submit().params["message_id"]
        assert parse_receipt(peer.receive()).message_id == message_id
        peer.request(P.UNBIND)
        peer.close()
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.parametrize("args, message", [
    (["--password", "toolongpassword"], "at most 8 characters"),
    (["--password", "pw", "--mo", "nonsense"], "SOURCE:DESTINATION:TEXT"),
    (["--password", "pw", "--deliver-rate", "0.9", "--expire-rate", "0.2"], "must not exceed 1"),
])
def test_the_management_command_explains_bad_options(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("smsc_simulator", *args)
