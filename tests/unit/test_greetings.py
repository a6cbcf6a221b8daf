"""The far end's AMD greetings: greetings.txt, the files greetings.sh makes of it, and the
branches of far-end.xml that play them (tests/sandbox/README.md)."""

from __future__ import annotations

import re
import shutil
import statistics
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

SANDBOX = Path(__file__).resolve().parents[1] / "sandbox"
KIND_DIGIT = {"person": "0", "machine": "1"}


def corpus() -> list[tuple[str, str, str]]:
    """(kind, id, text) of every line of greetings.txt."""
    rows = []
    for line in (SANDBOX / "greetings.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            kind, gid, *_rest, text = line.split(None, 8)
            rows.append((kind, gid, text))
    return rows


def scenario() -> ET.Element:
    return ET.parse(SANDBOX / "far-end.xml").getroot()


def test_the_corpus_is_at_least_40_greetings_half_of_each_kind() -> None:
    rows = corpus()
    kinds = [kind for kind, _, _ in rows]
    assert len(rows) >= 40
    assert kinds.count("person") == kinds.count("machine") == len(rows) // 2
    assert len({(kind, gid) for kind, gid, _ in rows}) == len(rows)
    for kind, gid, text in rows:
        assert re.fullmatch(r"\d\d", gid), gid
        words = len(re.findall(r"[A-Za-z']+", text))
        if kind == "person":
            assert words <= 2, text  # one or two short words
        else:
            assert words >= 8, text  # a long sentence


def test_the_voices_are_what_the_docs_say() -> None:
    """README, amd.conf and tests/sandbox/README.md: 8 espeak-ng voices in 24
    voice/variant combinations (a variant follows the voice after `+`)."""
    voices = [line.split()[2] for line in (SANDBOX / "greetings.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")]  # fmt: skip
    assert len(set(voices)) == 24
    assert len({voice.split("+")[0] for voice in voices}) == 8
    docs = [SANDBOX.parents[1] / name for name in ("README.md", "asterisk-config/amd.conf")]
    for doc in [*docs, SANDBOX / "README.md"]:
        text = " ".join(doc.read_text().replace(";", " ").split())
        assert "8 espeak-ng voices" in text and "24 voice/variant combinations" in text, doc


def test_far_end_plays_every_greeting_on_its_number() -> None:
    root = scenario()
    eregs = {e.get("assign_to"): e.get("regexp") for e in root.iter("ereg")}
    jumps = {n.get("test"): n.get("next") for n in root.iter("nop") if n.get("test")}
    labels = [label.get("id") for label in root.iter("label")]
    played: dict[str, str] = {}
    body = list(root)
    for i, element in enumerate(body):
        if element.tag == "label":
            following = body[i + 1] if i + 1 < len(body) else None
            if following is not None:
                for action in following.iter("exec"):
                    if action.get("rtp_stream") not in (None, "pause"):
                        played[element.get("id", "")] = action.get("rtp_stream", "")
    for kind, gid, _ in corpus():
        var = f"amd_{kind}_{gid}"
        number = f"+12025551{KIND_DIGIT[kind]}{gid}"
        assert re.match(eregs[var].replace("^INVITE ", ""), f"sip:{number}@127.0.0.1"), var
        assert jumps[var] == var and labels.count(var) == 1
        assert played[var] == f"greetings/{kind}-{gid}.wav,1,0"
    # Nothing plays a file the corpus does not make (hangup plays machine-00).
    made = {f"greetings/{kind}-{gid}.wav,1,0" for kind, gid, _ in corpus()}
    assert set(played.values()) <= made


def test_amd_numbers_are_checked_before_the_last_digit() -> None:
    """+12025551KNN ends in any digit: its branch must come first, and no other number of
    the far end's table starts with +1202555 (tests/integration/support.numbers)."""
    nops = [n.get("test") for n in scenario().iter("nop") if n.get("test")]
    assert nops.index("amd") < nops.index("busy")
    amd = next(e for e in scenario().iter("ereg") if e.get("assign_to") == "amd")
    assert re.match(amd.get("regexp", "").replace("^INVITE ", ""), "sip:+12025551105@x")
    assert not re.match(amd.get("regexp", "").replace("^INVITE ", ""), "sip:+14155550125@x")


def wav_format(path: Path) -> tuple[int, int, int, int, float]:
    """(format tag, channels, rate, bits, seconds) from a RIFF/WAVE header."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", path
    pos, fmt, size = 12, None, 0
    while pos + 8 <= len(data):
        chunk, length = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if chunk == b"fmt ":
            fmt = struct.unpack("<HHIIHH", data[pos + 8 : pos + 24])
        elif chunk == b"data":
            size = length
        pos += 8 + length + (length & 1)
    assert fmt is not None, path
    tag, channels, rate, _byte_rate, _align, bits = fmt
    return tag, channels, rate, bits, size / (rate * channels * bits / 8)


def test_greetings_sh_makes_8khz_mono_ulaw_files(tmp_path: Path) -> None:
    assert shutil.which("espeak-ng") and shutil.which("sox"), "scripts/test installs them"
    out = tmp_path / "greetings"
    subprocess.run([str(SANDBOX / "greetings.sh"), str(out)], check=True, capture_output=True)
    lengths: dict[str, list[float]] = {"person": [], "machine": []}
    for kind, gid, _ in corpus():
        tag, channels, rate, bits, seconds = wav_format(out / f"{kind}-{gid}.wav")
        assert (tag, channels, rate, bits) == (7, 1, 8000, 8)  # 7: mu-law
        lengths[kind].append(seconds)
    assert min(lengths["person"]) >= 5  # the words, then 5 s of silence
    assert statistics.fmean(lengths["person"]) + 2 < statistics.fmean(lengths["machine"])
    # Up to date: a second run changes nothing.
    stamp = (out / ".complete").stat().st_mtime_ns
    subprocess.run([str(SANDBOX / "greetings.sh"), str(out)], check=True, capture_output=True)
    assert (out / ".complete").stat().st_mtime_ns == stamp
