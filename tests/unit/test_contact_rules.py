"""Contact transitions, outcome classification and retry rules, as tables."""

import pytest

from gateway.domain.contacts import (
    ALLOWED,
    IllegalTransition,
    Outcome,
    after_failed_attempt,
    check,
    classify_failure,
)
from gateway.domain.model import ContactStatus as C


@pytest.mark.parametrize("from_", list(C))
@pytest.mark.parametrize("to", list(C))
def test_only_listed_transitions_are_legal(from_: C, to: C) -> None:
    if (from_, to) in ALLOWED:
        check(from_, to)
    else:
        with pytest.raises(IllegalTransition):
            check(from_, to)


def test_final_states_have_no_way_out() -> None:
    for from_, _ in ALLOWED:
        assert not from_.final


@pytest.mark.parametrize(
    ("cause", "tech", "reason", "expected"),
    [
        (17, "486", 0, Outcome.BUSY),
        (19, "480", 0, Outcome.NO_ANSWER),
        (21, "603", 0, Outcome.REJECTED),
        (1, "404", 0, Outcome.INVALID_NUMBER),
        (34, "503", 0, Outcome.CONGESTION),
        (17, "", None, Outcome.BUSY),  # no TechCause before Asterisk 22.7
        (18, "", None, Outcome.NO_ANSWER),
        (38, "", None, Outcome.CONGESTION),
        (28, "", None, Outcome.INVALID_NUMBER),
        (None, "", 5, Outcome.BUSY),  # no channel: only the OriginateResponse reason
        (None, "", 3, Outcome.NO_ANSWER),
        (None, "", 0, Outcome.FAILED),
        (16, "", 1, Outcome.FAILED),  # cleared normally but never answered
        (127, "", None, Outcome.FAILED),
        (16, "SIP 486", None, Outcome.BUSY),
    ],
)
def test_classify(cause: int | None, tech: str, reason: int | None, expected: Outcome) -> None:
    assert classify_failure(cause, tech, reason) is expected


@pytest.mark.parametrize(
    ("outcome", "made", "retries", "expected"),
    [
        (Outcome.BUSY, 1, 0, C.FAILED),
        (Outcome.BUSY, 1, 1, C.PENDING),
        (Outcome.BUSY, 2, 1, C.FAILED),
        (Outcome.NO_ANSWER, 3, 5, C.PENDING),
        (Outcome.CONGESTION, 1, 2, C.PENDING),
        (Outcome.INVALID_NUMBER, 1, 5, C.FAILED),  # never retried
        (Outcome.REJECTED, 1, 5, C.FAILED),  # the callee's choice
        (Outcome.LOST, 1, 5, C.FAILED),  # never re-dialled blindly
    ],
)
def test_retry_rules(outcome: Outcome, made: int, retries: int, expected: C) -> None:
    result = after_failed_attempt(outcome, made, retries, 300, now=1000.0)
    assert result.status is expected
    assert result.next_attempt_at == (1300.0 if expected is C.PENDING else 0.0)
