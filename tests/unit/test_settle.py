"""What an ended attempt does to its contact: a table of (call, campaign status) → decision."""

import pytest

from gateway.domain.contacts import Outcome, not_sent, settle
from gateway.domain.model import CampaignStatus as S
from gateway.domain.model import ContactStatus as C


@pytest.mark.parametrize(
    ("answered", "cause", "tech", "made", "retries", "status", "to", "outcome"),
    [
        (True, 16, "", 1, 0, S.RUNNING, C.COMPLETED, Outcome.ANSWERED),
        (True, 0, "", 1, 0, S.RUNNING, C.COMPLETED, Outcome.ANSWERED),  # BYE, no Reason
        (False, 17, "486", 1, 1, S.RUNNING, C.PENDING, Outcome.BUSY),
        (False, 17, "486", 2, 1, S.RUNNING, C.FAILED, Outcome.BUSY),
        (False, 1, "404", 1, 3, S.RUNNING, C.FAILED, Outcome.INVALID_NUMBER),
        (False, 21, "603", 1, 3, S.RUNNING, C.FAILED, Outcome.REJECTED),
        # Paused: a retry may wait for the resume.
        (False, 17, "486", 1, 2, S.PAUSED, C.PENDING, Outcome.BUSY),
        (False, 19, "480", 1, 2, S.PAUSED, C.PENDING, Outcome.NO_ANSWER),
        # Stopped while ringing: final at once, retries left or not.
        (False, 17, "486", 1, 2, S.STOPPED, C.FAILED, Outcome.BUSY),
        (False, 19, "480", 1, 5, S.STOPPED, C.FAILED, Outcome.NO_ANSWER),
        (False, 34, "503", 1, 5, S.STOPPED, C.FAILED, Outcome.CONGESTION),
        (True, 16, "", 1, 2, S.STOPPED, C.COMPLETED, Outcome.ANSWERED),
    ],
)
def test_settle(answered, cause, tech, made, retries, status, to, outcome) -> None:  # type: ignore[no-untyped-def]
    result = settle(answered, 100.0, 103.5, cause, tech, None, made, retries, 60, status)
    assert (result.contact_to, result.outcome) == (to, outcome)
    assert result.talk_seconds == (3.5 if answered else None)
    assert result.next_attempt_at == (163.5 if to is C.PENDING else 0.0)


def test_lost_calls_are_never_redialled() -> None:
    lost = settle(False, None, 10.0, None, "", None, 1, 5, 60, S.RUNNING, lost=True)
    assert (lost.contact_to, lost.outcome) == (C.FAILED, Outcome.LOST)
    gone = settle(True, 5.0, 10.0, None, "", None, 1, 5, 60, S.RUNNING, lost=True)
    assert gone.contact_to is C.COMPLETED and gone.talk_seconds is None


@pytest.mark.parametrize("status", [S.RUNNING, S.PAUSED, S.STOPPED])
def test_an_undialable_attempt_fails_at_once_without_retry(status: S) -> None:
    """An Originate that could not be built or was refused would fail again: no retry."""
    result = settle(False, None, 10.0, None, "", None, 1, 5, 60, status, undialable=True)
    assert (result.contact_to, result.outcome, result.next_attempt_at) == (
        C.FAILED,
        Outcome.FAILED,
        0.0,
    )


@pytest.mark.parametrize(
    ("status", "to"),
    [(S.RUNNING, C.PENDING), (S.PAUSED, C.PENDING), (S.STOPPED, C.CANCELLED)],
)
def test_an_attempt_never_sent_is_undone_or_cancelled(status: S, to: C) -> None:
    assert not_sent(status) is to
