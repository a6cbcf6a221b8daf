"""The far end's RFC 4733 presses (tests/sandbox/dtmf-9*.pcap) are what dtmf_pcap.py
writes, and say what Asterisk must hear: key 9, payload type 101, a start and an end."""

from __future__ import annotations

import importlib.util
import re
import struct
from pathlib import Path

SANDBOX = Path(__file__).resolve().parents[1] / "sandbox"


def generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("dtmf_pcap", SANDBOX / "dtmf_pcap.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rtp_packets(data: bytes) -> list[bytes]:
    magic, major, minor, _, _, _, link = struct.unpack("<IHHiIII", data[:24])
    assert (magic, major, minor, link) == (0xA1B2C3D4, 2, 4, 1)  # microseconds, Ethernet
    packets, offset = [], 24
    while offset < len(data):
        _, _, captured, length = struct.unpack("<IIII", data[offset : offset + 16])
        assert captured == length  # SIPp refuses truncated packets
        frame = data[offset + 16 : offset + 16 + captured]
        offset += 16 + captured
        assert frame[12:14] == b"\x08\x00" and frame[14 + 9] == 17  # IPv4, UDP
        packets.append(frame[14 + 20 + 8 :])
    return packets


def test_the_committed_files_are_the_generators() -> None:
    module = generator()
    timestamps = set()
    for name, (at, first_seq) in module.FILES.items():
        data = (SANDBOX / name).read_bytes()
        assert data == module.pcap(at, first_seq), f"{name}: run tests/sandbox/dtmf_pcap.py"
        packets = rtp_packets(data)
        assert all(p[1] & 0x7F == 101 for p in packets)  # telephone-event as Asterisk offers
        assert [p[1] >> 7 for p in packets] == [1] + [0] * (len(packets) - 1)  # marker once
        assert {p[12] for p in packets} == {9}
        ends = [bool(p[13] & 0x80) for p in packets]
        assert ends == [False] * (len(packets) - 3) + [True] * 3
        timestamps |= {struct.unpack("!I", p[4:8])[0] for p in packets}
    assert len(timestamps) == 2  # one per press: a replay would be taken for a retransmission


def test_far_end_plays_them_from_next_to_the_scenario() -> None:
    scenario = re.sub(r"<!--.*?-->", "", (SANDBOX / "far-end.xml").read_text(), flags=re.S)
    for name in generator().FILES:
        assert scenario.count(f'<exec play_pcap_audio="{name}"/>') == 1
    assert "play_dtmf" not in scenario  # payload type 96 whatever the SDP: Asterisk ignores it
