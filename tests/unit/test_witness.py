"""The integration tests' witness counts Asterisk's channels right (bench/dial.py's cap
check relies on it): a CoreShowChannels answer is written entry by entry, so it is not a
snapshot of one instant."""

from tests.integration.support import AmiSettings, AmiWitness, Call


def witness_with(calls: list[Call], listed: list[tuple[str, float]]) -> AmiWitness:
    witness = AmiWitness(AmiSettings("127.0.0.1", 5038, "u", "s"))
    witness.calls = {c.uniqueid: c for c in calls}
    witness.samples = [(max(t for _, t in listed), [(u, "+1555", t) for u, t in listed])]
    return witness


def test_a_call_ended_mid_listing_and_its_successor_are_not_counted_together() -> None:
    # A is listed, hangs up while the answer is still being written, and B, which took
    # its place, is listed after it: one call alive at any instant, not two.
    a = Call("a", created=0.0, hangup=1.004, caller_id="+1555")
    b = Call("b", created=1.006, hangup=3.0, caller_id="+1555")
    assert witness_with([a, b], [("a", 1.002), ("b", 1.010)]).max_sampled(["+1555"]) == 1


def test_channels_alive_together_and_unheard_ones_still_count() -> None:
    a = Call("a", created=0.0, hangup=5.0, caller_id="+1555")
    b = Call("b", created=0.5, hangup=None, caller_id="+1555")  # its Hangup never seen
    # c: no event of it ever reached us; listed, so alive from then on.
    found = witness_with([a, b], [("a", 1.0), ("b", 1.0), ("c", 1.0)]).max_sampled(["+1555"])
    assert found == 3


def test_a_channel_listed_twice_in_one_answer_counts_once() -> None:
    # Asterisk 22 listed one channel twice in one answer under load (a CI failure: "21
    # channels (cap 20)" with 20 distinct Uniqueids).
    a = Call("a", created=0.0, hangup=5.0, caller_id="+1555")
    b = Call("b", created=0.5, hangup=5.0, caller_id="+1555")
    listed = [("a", 1.0), ("a", 1.001), ("b", 1.002)]
    assert witness_with([a, b], listed).max_sampled(["+1555"]) == 2
