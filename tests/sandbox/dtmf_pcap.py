"""Writes dtmf-9.pcap and dtmf-9-again.pcap: the key 9 pressed once, as RFC 4733
telephone-events (payload type 101, as Asterisk offers them) that SIPp's `play_pcap_audio`
replays from the far end's media port (tests/sandbox/far-end.xml, numbers +44 117 496 0xxx).
The second press has a later RTP timestamp: Asterisk takes a press with the timestamp of
one it has already seen for a retransmission, and ignores it.

SIPp 3.6's own `play_dtmf` sends payload type 96 whatever the SDP says, and Asterisk,
which offered 101, ignores those packets, so the far end replays these files instead. They
are committed; run `python3 tests/sandbox/dtmf_pcap.py` to write them again (they come
out byte for byte the same). tests/unit/test_sandbox_pcap.py checks both.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

FILES = {  # file name: (RTP timestamp of the event, its first sequence number)
    "dtmf-9.pcap": (8000, 1000),
    "dtmf-9-again.pcap": (24000, 2000),
}
PAYLOAD_TYPE = 101  # telephone-event/8000 in Asterisk's offer
EVENT = 9  # the key
VOLUME = 10
SSRC = 0x47415445
PACKETS = 7  # one every 20 ms while the key is down (140 ms), then the end, three times
PORT = 6000  # SIPp rewrites both ports (its media port, the SDP's)


def _ip_checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _frame(rtp: bytes) -> bytes:
    udp = struct.pack("!HHHH", PORT, PORT, 8 + len(rtp), 0) + rtp  # no UDP checksum: SIPp sets it
    loopback = bytes([127, 0, 0, 1])
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                     loopback, loopback)  # fmt: skip
    ip = ip[:10] + struct.pack("!H", _ip_checksum(ip)) + ip[12:]
    return bytes(12) + b"\x08\x00" + ip + udp  # Ethernet: no addresses, IPv4


def _event(at: int, seq: int, duration: int, end: bool, marker: bool) -> bytes:
    """One packet of the event that starts at RTP timestamp `at` (the same in each)."""
    rtp = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | PAYLOAD_TYPE, seq, at, SSRC)
    return rtp + struct.pack("!BBH", EVENT, (0x80 if end else 0) | VOLUME, duration)


def pcap(at: int, first_seq: int) -> bytes:
    """A file's bytes: a pcap (microseconds, Ethernet) of the event's packets."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    packets = [(i * 20_000, _event(at, first_seq + i, (i + 1) * 160, False, i == 0))
               for i in range(PACKETS)]  # fmt: skip
    end = _event(at, first_seq + PACKETS, (PACKETS + 1) * 160, True, False)
    packets += [(PACKETS * 20_000 + i * 100, end) for i in range(3)]  # the same packet, thrice
    for micros, rtp in packets:
        frame = _frame(rtp)
        out.append(struct.pack("<IIII", micros // 1_000_000, micros % 1_000_000, len(frame),
                               len(frame)) + frame)  # fmt: skip
    return b"".join(out)


if __name__ == "__main__":
    for name, (at, first_seq) in FILES.items():
        path = Path(__file__).with_name(name)
        path.write_bytes(pcap(at, first_seq))
        sys.stdout.write(f"wrote {path}\n")
