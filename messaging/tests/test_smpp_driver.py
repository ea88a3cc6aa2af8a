"""The ``smpp`` driver against Herald's SMSC simulator on loopback (no socket mocks): binds,
GSM-7 / UCS-2, concatenation, the send window, receipts and MOs, enquire_link, reconnection
with back-off, refusals, and the connection check. Gateways are unsaved instances and the
report / inbound sinks are injected, so no database is needed."""

import socket
import threading
import time
import uuid

import pytest

from messaging.encoding import decode_gsm7
from messaging.models import Gateway, MessageStatus
from messaging.providers import provider_class
from messaging.providers.base import OutboundMessage
from messaging.providers.smpp import SmppProvider
from messaging.providers.smpp import pdu as P
from messaging.smsc import SmscSimulator

FAST = {"reconnect_min": 0.05, "reconnect_max": 0.4, "connect_timeout": 2, "response_timeout": 2,
        "enquire_link_interval": 0}


def wait_for(predicate, timeout: float = 3.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


def sms(text="Hello", to="+34600111222", sender="Herald", encoding="") -> OutboundMessage:
    return OutboundMessage(id=uuid.uuid4(), company_id=1, channel=1, address=to, sender=sender,
                           content={"text": text}, encoding=encoding)


class Capture:
    def __init__(self):
        self.items = []
        self.threads = set()

    def __call__(self, items):
        self.threads.add(threading.current_thread().name)
        self.items.extend(items)


@pytest.fixture
def smsc():
    with SmscSimulator.threaded(port=0, delivery_delay=0.01, seed=5, id_prefix="") as simulator:
        yield simulator


@pytest.fixture
def make_provider(smsc):
    made = []

    def make(port=None, password="secret", sinks=True, **settings):
        gateway = Gateway(name="SMSC", channel=1, provider="smpp",
                          credentials={"system_id": "herald", "password": password},
                          settings={"host": "127.0.0.1", "port": port or smsc.port, **FAST, **settings})
        if sinks:
            reports, inbound = Capture(), Capture()
            provider = SmppProvider(gateway, report_sink=reports, inbound_sink=inbound)
            provider.reports, provider.inbound = reports, inbound
        else:
            provider = SmppProvider(gateway)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        provider.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_registry_knows_the_driver():
    driver = provider_class("smpp")
    assert driver is SmppProvider
    assert (driver.key, driver.name, driver.channels) == ("smpp", "SMPP 3.4", frozenset({1}))
    assert driver.credential_fields == ("system_id", "password")
    assert {"host", "port", "window", "enquire_link_interval", "registered_delivery"} <= set(driver.setting_fields)


def test_check_connection_binds_and_unbinds(smsc, make_provider):
    result = make_provider().check_connection()
    assert result.ok
    assert result.detail == f"Bound as herald to 127.0.0.1:{smsc.port}."
    wait_for(lambda: not smsc.connections, what="the unbind")
    assert smsc.stats["binds"] == 1


def test_check_connection_reports_a_refused_bind_and_an_unreachable_smsc(make_provider):
    refused = make_provider(password="wrong").check_connection()
    assert not refused.ok
    assert refused.detail == "Bind refused: ESME_RBINDFAIL (check the system_id and password)."
    port = free_port()
    unreachable = make_provider(port=port).check_connection()
    assert not unreachable.ok
    assert unreachable.detail.startswith(f"Cannot connect to 127.0.0.1:{port}: ")


def test_bad_settings_are_explained_without_a_connection(make_provider):
    provider = make_provider(host="")
    assert provider.check_connection().detail.startswith("SMPP setting 'host' is required")
    [result] = provider.send_batch([sms()])
    assert (result.status, result.error_code) == (MessageStatus.FAILED, "bad_configuration")
    assert "host" in result.error_text
    window = make_provider(window="lots").check_connection()
    assert window.detail == "SMPP setting 'window' must be a number, not 'lots'."
    assert make_provider(password="muchtoolong").check_connection().detail == (
        "SMPP credential 'password' must be at most 8 ASCII characters.")


def test_gsm7_message(smsc, make_provider):
    provider = make_provider()
    [result] = provider.send_batch([sms("Hello @ £5 {ok}", sender="Herald")])
    assert result.status == MessageStatus.SUBMITTED
    assert result.provider_message_id == "00000001"
    assert result.response["part_ids"] == ["00000001"]
    assert result.request == {"destination": "34600111222", "data_coding": 0, "parts": 1, "source": "Herald"}
    [got] = smsc.received
    assert (got.destination, got.source, got.data_coding, got.esm_class, got.udh) == (
        "34600111222", "Herald", 0, 0, None)
    assert got.text == "Hello @ £5 {ok}"
    assert got.short_message[:6] == b"Hello\x20"
    assert b"\x1b\x28" in got.short_message  # "{" is an escape sequence, unpacked septets
    assert (got.params["source_addr_ton"], got.params["source_addr_npi"]) == (5, 0)
    assert (got.params["dest_addr_ton"], got.params["dest_addr_npi"]) == (1, 1)
    assert got.registered_delivery == 1


def test_ucs2_message_and_numeric_sender(smsc, make_provider):
    provider = make_provider()
    [result] = provider.send_batch([sms("Привет, мир 👋", sender="+34911222333")])
    assert result.status == MessageStatus.SUBMITTED
    [got] = smsc.received
    assert (got.data_coding, got.text, got.source) == (8, "Привет, мир 👋", "34911222333")
    assert got.short_message == "Привет, мир 👋".encode("utf-16-be")
    assert (got.params["source_addr_ton"], got.params["source_addr_npi"]) == (1, 1)


def test_settings_override_ton_npi_and_registered_delivery(smsc, make_provider):
    provider = make_provider(source_ton=0, source_npi=1, dest_ton=2, dest_npi=9, registered_delivery=0)
    provider.send_batch([sms()])
    [got] = smsc.received
    assert [got.params[k] for k in ("source_addr_ton", "source_addr_npi", "dest_addr_ton", "dest_addr_npi")] == [
        0, 1, 2, 9]
    assert got.registered_delivery == 0


def parts_of(smsc):
    return [(r.udh, r.text, r.esm_class, r.data_coding) for r in smsc.received]


def test_a_long_gsm7_message_goes_in_three_concatenated_parts(smsc, make_provider):
    text = ("Herald long message test. " * 16)[:400]
    provider = make_provider()
    [result] = provider.send_batch([sms(text)])
    assert result.status == MessageStatus.SUBMITTED
    parts = parts_of(smsc)
    assert len(parts) == 3
    reference = parts[0][0]["ref"]
    assert [p[0] for p in parts] == [{"ref": reference, "total": 3, "seq": n} for n in (1, 2, 3)]
    assert [len(p[1]) for p in parts] == [153, 153, 94]
    assert {(p[2], p[3]) for p in parts} == {(0x40, 0)}
    assert "".join(p[1] for p in parts) == text
    assert smsc.received[0].short_message[:6] == P.concat_udh(reference, 3, 1)
    ids = [r.message_id for r in smsc.received]
    assert result.provider_message_id == ids[0]
    assert result.response["part_ids"] == ids
    # The next long message has another reference.
    provider.send_batch([sms(text)])
    assert smsc.received[3].udh["ref"] != reference


def test_a_long_ucs2_message_uses_67_unit_parts(smsc, make_provider):
    text = "Привет, мир! " * 12  # 156 characters
    provider = make_provider()
    [result] = provider.send_batch([sms(text)])
    assert result.status == MessageStatus.SUBMITTED
    parts = parts_of(smsc)
    assert [len(p[1]) for p in parts] == [67, 67, 22]
    assert {p[3] for p in parts} == {8}
    assert "".join(p[1] for p in parts) == text
    assert all(len(r.short_message) <= 140 for r in smsc.received)  # 6 octets of UDH + 134


def test_parts_never_cut_an_escape_or_a_surrogate_pair(smsc, make_provider):
    provider = make_provider()
    provider.send_batch([sms("€" * 100), sms("😀" * 40)])
    euro = [r for r in smsc.received if r.data_coding == 0]
    assert [r.text for r in euro] == ["€" * 76, "€" * 24]
    assert decode_gsm7(euro[0].short_message[6:]) == "€" * 76
    emoji = [r for r in smsc.received if r.data_coding == 8]
    assert [r.text for r in emoji] == ["😀" * 33, "😀" * 7]


def test_the_send_window_is_never_exceeded(smsc, make_provider):
    smsc.response_delay = 0.05
    provider = make_provider(window=3)
    results = provider.send_batch([sms(f"Message {i}") for i in range(12)])
    assert [r.status for r in results] == [MessageStatus.SUBMITTED] * 12
    assert smsc.max_outstanding == 3
    # Results come back in the order of the batch.
    texts = {r.message_id: r.text for r in smsc.received}
    assert [texts[r.provider_message_id] for r in results] == [f"Message {i}" for i in range(12)]


def test_a_wider_window_fills_up(smsc, make_provider):
    smsc.response_delay = 0.05
    provider = make_provider(window=8)
    provider.send_batch([sms(f"Message {i}") for i in range(24)])
    assert smsc.max_outstanding == 8


def test_receipts_map_to_statuses_and_keep_the_raw_stat(smsc, make_provider):
    outcomes = {"34600000001": "DELIVRD", "34600000002": "UNDELIV", "34600000003": "EXPIRED",
                "34600000004": "REJECTD", "34600000005": "DELETED", "34600000006": "UNKNOWN",
                "34600000007": "READ", "34600000008": "ACCEPTD"}
    smsc.outcomes.update(outcomes)
    provider = make_provider()
    results = provider.send_batch([sms(to=f"+{number}") for number in outcomes])
    wait_for(lambda: len(provider.reports.items) >= 7, what="the receipts")
    time.sleep(0.15)  # the ACCEPTD one would arrive meanwhile: it is not an outcome
    by_id = {r.provider_message_id: r for r in provider.reports.items}
    got = {number: by_id.get(result.provider_message_id) for number, result in zip(outcomes, results, strict=True)}
    assert {n: (r.status, r.provider_status, r.error_code) for n, r in got.items() if r} == {
        "34600000001": (MessageStatus.DELIVERED, "DELIVRD", ""),
        "34600000002": (MessageStatus.UNDELIVERED, "UNDELIV", "001"),
        "34600000003": (MessageStatus.EXPIRED, "EXPIRED", "002"),
        "34600000004": (MessageStatus.REJECTED, "REJECTD", "003"),
        "34600000005": (MessageStatus.FAILED, "DELETED", "004"),
        "34600000006": (MessageStatus.FAILED, "UNKNOWN", "005"),
        "34600000007": (MessageStatus.SEEN, "READ", ""),
    }
    assert len(provider.reports.items) == 7
    assert all(r.at is not None for r in provider.reports.items)
    wait_for(lambda: smsc.stats["deliver_resps"] == 8, what="every deliver_sm acknowledged")


def test_receipts_of_later_parts_count_only_when_they_fail(smsc, make_provider):
    smsc.outcomes["34600000002"] = "UNDELIV"
    provider = make_provider()
    delivered, failed = provider.send_batch([sms("x" * 400, to="+34600000001"), sms("y" * 400, to="+34600000002")])
    wait_for(lambda: smsc.stats["deliver_resps"] == 6, what="six receipts")
    wait_for(lambda: len(provider.reports.items) == 4, what="the reports")
    time.sleep(0.15)
    reports = provider.reports.items
    assert [(r.provider_message_id, r.status) for r in reports if r.status == MessageStatus.DELIVERED] == [
        (delivered.provider_message_id, MessageStatus.DELIVERED)]
    assert {r.provider_message_id for r in reports if r.status == MessageStatus.UNDELIVERED} == {
        failed.provider_message_id}
    assert len(reports) == 4


def test_reports_are_handed_over_in_batches_off_the_loop(smsc, make_provider):
    smsc.deliver_rate = 1.0
    provider = make_provider(window=50)
    provider.send_batch([sms(f"m{i}") for i in range(450)])
    wait_for(lambda: len(provider.reports.items) == 450, what="450 reports")
    assert provider.reports.threads and all("intake" in name for name in provider.reports.threads)


def test_mo_goes_to_the_inbound_sink_decoded(smsc, make_provider):
    provider = make_provider()
    provider.send_batch([sms()])  # bind
    smsc.run(smsc.inject_mo("+34600111222", "Herald", "Hola ¿qué tal? €"))
    smsc.run(smsc.inject_mo("InfoSMS", "34911222333", "Привет! " * 20))  # UCS-2, 160 characters: 3 parts
    wait_for(lambda: len(provider.inbound.items) == 2, what="the MOs")
    first, second = provider.inbound.items
    assert (first.address, first.to, first.text) == ("+34600111222", "Herald", "Hola ¿qué tal? €")
    assert first.content == {"text": "Hola ¿qué tal? €"}
    assert (second.address, second.to, second.text) == ("InfoSMS", "34911222333", "Привет! " * 20)


def test_an_mo_missing_parts_is_given_out_as_it_is_after_a_while(smsc, make_provider):
    provider = make_provider()
    provider.send_batch([sms()])
    provider._assembler.max_wait = 0.2
    text = "Part one of a long MO. " * 10  # 230 characters: 2 parts, the second lost
    assert smsc.run(smsc.inject_mo("+34600111222", "Herald", text, only_parts=[1])) == 1
    time.sleep(0.1)
    assert provider.inbound.items == []
    [mo] = wait_for(lambda: provider.inbound.items, what="the partial MO")
    assert mo.text == text[:153]


def test_enquire_link_both_ways(smsc, make_provider):
    provider = make_provider(enquire_link_interval=0.05)
    provider.send_batch([sms()])
    wait_for(lambda: smsc.stats["enquire_links"] >= 3, what="the client's enquire_links")
    assert smsc.run(smsc.enquire_link_all()) == [P.ESME_ROK]


def test_the_smsc_dropping_the_connection_is_followed_by_a_rebind(smsc, make_provider):
    provider = make_provider()
    assert provider.send_batch([sms()])[0].status == MessageStatus.SUBMITTED
    assert smsc.run(smsc.drop_connections()) == 1
    wait_for(lambda: smsc.stats["binds"] == 2, what="the rebind")
    results = provider.send_batch([sms("after"), sms("the drop")])
    assert [r.status for r in results] == [MessageStatus.SUBMITTED] * 2
    assert [r.text for r in smsc.received] == ["Hello", "after", "the drop"]
    [delay] = provider.client.reconnect_delays
    assert 0.025 <= delay <= 0.05  # reconnect_min with jitter


def test_an_smsc_dropping_every_new_bind_is_not_hammered(smsc, make_provider):
    provider = make_provider(reconnect_min=0.02, reconnect_max=1)
    provider.send_batch([sms()])
    for binds in (1, 2, 3, 4):
        wait_for(lambda binds=binds: smsc.stats["binds"] == binds and smsc.connections, what=f"bind {binds}")
        smsc.run(smsc.drop_connections())
    wait_for(lambda: len(provider.client.reconnect_delays) == 4, what="four pauses")
    for failures, delay in enumerate(provider.client.reconnect_delays, 1):
        ceiling = 0.02 * 2 ** (failures - 1)  # the pause grows although every bind succeeded
        assert ceiling / 2 <= delay <= ceiling


def test_an_unbind_from_the_smsc_is_answered_and_followed_by_a_rebind(smsc, make_provider):
    provider = make_provider()
    provider.send_batch([sms()])
    assert smsc.run(smsc.unbind_all()) == [P.ESME_ROK]
    wait_for(lambda: smsc.stats["binds"] == 2, what="the rebind")
    assert provider.send_batch([sms()])[0].status == MessageStatus.SUBMITTED
    assert "the SMSC unbound" in provider.client.disconnects[0]


def test_reconnection_backs_off_while_binds_are_refused(smsc, make_provider):
    provider = make_provider(reconnect_min=0.04, reconnect_max=0.2, connect_timeout=0.3)
    provider.send_batch([sms()])
    smsc.refuse_binds = True
    smsc.run(smsc.drop_connections())
    wait_for(lambda: sum(1 for a in smsc.bind_attempts if not a[2]) >= 4, what="four refused binds")
    # Meanwhile a batch fails fast and says why; its messages were never sent.
    [result] = provider.send_batch([sms("during the outage")])
    assert (result.status, result.error_code) == (MessageStatus.FAILED, "not_connected")
    assert "Bind refused: ESME_RBINDFAIL" in result.error_text
    delays = list(provider.client.reconnect_delays)
    for failures, delay in enumerate(delays[:4], 1):
        ceiling = min(0.2, 0.04 * 2 ** (failures - 1))
        assert ceiling / 2 <= delay <= ceiling
    refused = [at for at, _system_id, ok in smsc.bind_attempts if not ok]
    gaps = [b - a for a, b in zip(refused, refused[1:], strict=False)]
    assert gaps[0] >= 0.02 and gaps[2] >= 0.05  # the pauses grow
    smsc.refuse_binds = False
    wait_for(lambda: provider.client.bound, what="the bind after the outage")
    assert provider.send_batch([sms("back")])[0].status == MessageStatus.SUBMITTED
    assert "during the outage" not in [r.text for r in smsc.received]


def test_submits_in_flight_when_the_connection_drops_fail_as_connection_lost(smsc, make_provider):
    smsc.response_delay = 5
    provider = make_provider()
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(results=provider.send_batch([sms("a"), sms("b")])))
    thread.start()
    wait_for(lambda: len(smsc.received) == 2, what="both submits at the SMSC")
    smsc.run(smsc.drop_connections())
    thread.join(3)
    results = outcome["results"]
    assert [(r.status, r.error_code) for r in results] == [(MessageStatus.FAILED, "connection_lost")] * 2
    assert "did not answer" in results[0].error_text
    smsc.response_delay = 0
    wait_for(lambda: provider.client.bound, what="the rebind")
    assert provider.send_batch([sms()])[0].status == MessageStatus.SUBMITTED


def test_an_unanswered_submit_times_out(smsc, make_provider):
    smsc.response_delay = 2
    provider = make_provider(response_timeout=0.2)
    [result] = provider.send_batch([sms()])
    assert (result.status, result.error_code) == (MessageStatus.FAILED, "response_timeout")
    assert "did not answer the submit_sm within 0.2 s" in result.error_text


def test_a_hung_smsc_is_detected_by_enquire_link_and_left(smsc, make_provider):
    provider = make_provider(enquire_link_interval=0.05, response_timeout=0.2, connect_timeout=0.3)
    provider.send_batch([sms()])
    smsc.mute = True
    wait_for(lambda: not provider.client.bound, what="the client to give up the hung connection")
    assert "no enquire_link_resp within 0.2 s" in provider.client.disconnects[0]
    smsc.mute = False
    wait_for(lambda: provider.client.bound, what="a new bind")
    assert smsc.stats["binds"] >= 2
    assert provider.send_batch([sms()])[0].status == MessageStatus.SUBMITTED


def test_no_smsc_at_all_fails_the_batch_as_not_connected(make_provider):
    provider = make_provider(port=free_port(), connect_timeout=0.2)
    started = time.monotonic()
    results = provider.send_batch([sms(), sms()])
    assert time.monotonic() - started < 2
    assert [(r.status, r.error_code) for r in results] == [(MessageStatus.FAILED, "not_connected")] * 2
    assert "Cannot connect to 127.0.0.1:" in results[0].error_text


def test_refusals_by_the_smsc_are_rejected_with_their_code(smsc, make_provider):
    provider = make_provider()
    results = provider.send_batch([sms("one"), sms("bad", to="+12"), sms("three")])
    assert [r.status for r in results] == [MessageStatus.SUBMITTED, MessageStatus.REJECTED, MessageStatus.SUBMITTED]
    bad = results[1]
    assert (bad.provider_status, bad.error_code) == ("0x0000000B ESME_RINVDSTADR", "ESME_RINVDSTADR")
    assert bad.error_text == "The SMSC refused the message: ESME_RINVDSTADR (Invalid destination address)."
    assert bad.provider_message_id == ""


def test_throttling_is_retried_then_reported(smsc, make_provider):
    smsc.max_tps, smsc.throttle_window = 2, 0.3  # at most 2 submits in any 0.3 s
    strict = make_provider(throttle_retries=0)
    results = strict.send_batch([sms("1"), sms("2"), sms("3")])
    assert [r.error_code for r in results].count("ESME_RTHROTTLED") == 1
    throttled = next(r for r in results if r.error_code)
    assert (throttled.status, throttled.provider_status) == (MessageStatus.REJECTED, "0x00000058 ESME_RTHROTTLED")
    time.sleep(0.3)
    refused = smsc.stats["refused"]
    patient = make_provider(throttle_retries=4, throttle_delay=0.05)
    results = patient.send_batch([sms("4"), sms("5"), sms("6")])
    assert [r.status for r in results] == [MessageStatus.SUBMITTED] * 3
    assert smsc.stats["refused"] > refused  # it was throttled, and tried again


def test_addresses_smpp_cannot_carry_are_rejected_before_sending(smsc, make_provider):
    provider = make_provider()
    long_sender, no_address = provider.send_batch([sms(sender="ThisIsTooLong"), sms(to="")])
    assert (long_sender.status, long_sender.error_code) == (MessageStatus.REJECTED, "ESME_RINVSRCADR")
    assert "at most 11 ASCII characters" in long_sender.error_text
    assert (no_address.status, no_address.error_code) == (MessageStatus.REJECTED, "ESME_RINVDSTADR")
    assert smsc.received == []


def test_close_unbinds_and_stops_the_loop_thread(smsc, make_provider):
    provider = make_provider()
    provider.send_batch([sms()])
    thread = provider._thread
    assert smsc.connections
    provider.close()
    assert not thread.is_alive()
    wait_for(lambda: not smsc.connections, what="the unbind")
    provider.close()  # twice is harmless
    # A closed driver starts again on the next batch.
    assert provider.send_batch([sms()])[0].status == MessageStatus.SUBMITTED


def test_a_failing_sink_is_retried(smsc, make_provider):
    provider = make_provider()
    calls = []

    def flaky(reports):
        calls.append(list(reports))
        if len(calls) == 1:
            raise RuntimeError("database went away")

    provider.report_sink = flaky
    provider.send_batch([sms()])
    wait_for(lambda: len(calls) == 2, what="the retry")
    assert calls[0] == calls[1]


def test_the_default_sinks_call_the_intake_services_in_a_worker_thread(smsc, make_provider, monkeypatch):
    from messaging.services import intake

    seen = []
    monkeypatch.setattr(intake, "apply_reports", lambda gateway, reports: seen.append(
        ("reports", gateway, [r.provider_status for r in reports], threading.current_thread().name)))
    monkeypatch.setattr(intake, "receive_inbound", lambda gateway, inbound: seen.append(
        ("inbound", gateway, [m.text for m in inbound], threading.current_thread().name)))
    smsc.deliver_rate = 1.0
    provider = make_provider(sinks=False)
    provider.send_batch([sms()])
    smsc.run(smsc.inject_mo("+34600111222", "Herald", "STOP"))
    wait_for(lambda: len(seen) == 2, what="both intake calls")
    assert sorted((kind, items) for kind, _gateway, items, _thread in seen) == [
        ("inbound", ["STOP"]), ("reports", ["DELIVRD"])]
    assert all(gateway is provider.gateway and "intake" in thread for _kind, gateway, _items, thread in seen)
