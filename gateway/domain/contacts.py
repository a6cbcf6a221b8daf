"""The contact state machine and the rules that classify and retry call outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gateway.domain.model import CampaignStatus
from gateway.domain.model import ContactStatus as C


class IllegalTransition(Exception):
    pass


# Every transition a contact may make; anything else is a bug (or a replayed event).
ALLOWED: frozenset[tuple[C, C]] = frozenset(
    {
        (C.PENDING, C.ORIGINATED),  # Originate sent
        (C.PENDING, C.CANCELLED),  # campaign stopped before dialling
        (C.ORIGINATED, C.CONNECTED),  # answered
        (C.ORIGINATED, C.PENDING),  # failed attempt, a retry is due later; or never sent
        (C.ORIGINATED, C.CANCELLED),  # never sent, and the campaign was stopped meanwhile
        (C.ORIGINATED, C.FAILED),  # failed attempt, attempts exhausted or not retryable
        (C.CONNECTED, C.COMPLETED),  # answered call ended
    }
)


def check(from_: C, to: C) -> None:
    if (from_, to) not in ALLOWED:
        raise IllegalTransition(f"contact cannot go from {from_.value} to {to.value}")


class Outcome(StrEnum):
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    REJECTED = "rejected"
    INVALID_NUMBER = "invalid_number"
    CONGESTION = "congestion"
    FAILED = "failed"  # anything else; also an Originate that could not be built or sent
    LOST = "lost"  # the call vanished while the gateway was away; it is not re-dialled


RETRYABLE = frozenset({Outcome.BUSY, Outcome.NO_ANSWER, Outcome.CONGESTION, Outcome.FAILED})

_BY_CAUSE: dict[int, Outcome] = {
    16: Outcome.ANSWERED,
    17: Outcome.BUSY,
    18: Outcome.NO_ANSWER,
    19: Outcome.NO_ANSWER,
    26: Outcome.NO_ANSWER,
    21: Outcome.REJECTED,
    1: Outcome.INVALID_NUMBER,
    22: Outcome.INVALID_NUMBER,
    28: Outcome.INVALID_NUMBER,
    27: Outcome.CONGESTION,
    34: Outcome.CONGESTION,
    38: Outcome.CONGESTION,
    41: Outcome.CONGESTION,
    42: Outcome.CONGESTION,
}
_BY_SIP: dict[str, Outcome] = {
    "486": Outcome.BUSY,
    "600": Outcome.BUSY,
    "408": Outcome.NO_ANSWER,
    "480": Outcome.NO_ANSWER,
    "487": Outcome.NO_ANSWER,  # we cancelled at the ring timeout
    "603": Outcome.REJECTED,
    "404": Outcome.INVALID_NUMBER,
    "484": Outcome.INVALID_NUMBER,
    "485": Outcome.INVALID_NUMBER,
    "604": Outcome.INVALID_NUMBER,
    "410": Outcome.INVALID_NUMBER,
    "503": Outcome.CONGESTION,
    "502": Outcome.CONGESTION,
}
# OriginateResponse Reason (a control frame number) when no Hangup cause is known.
_BY_REASON: dict[int, Outcome] = {
    4: Outcome.ANSWERED,
    5: Outcome.BUSY,
    3: Outcome.NO_ANSWER,
    8: Outcome.CONGESTION,
}


def classify_failure(
    cause: int | None, tech_cause: str = "", originate_reason: int | None = None
) -> Outcome:
    """Why an unanswered attempt failed. The SIP code is the most precise signal, then the
    Q.850 cause, then the OriginateResponse reason (ASTERISK.md: Reason alone cannot tell
    busy from no answer on PJSIP)."""
    sip = tech_cause.rsplit(" ", 1)[-1] if tech_cause else ""
    outcome = _BY_SIP.get(sip)
    if outcome is None and cause is not None:
        outcome = _BY_CAUSE.get(cause)
    if outcome is None and originate_reason is not None:
        outcome = _BY_REASON.get(originate_reason)
    if outcome is None or outcome is Outcome.ANSWERED:
        return Outcome.FAILED  # an unanswered attempt that "cleared normally" still failed
    return outcome


@dataclass(frozen=True)
class AfterFailure:
    status: C  # PENDING (retry later) or FAILED
    next_attempt_at: float


def after_failed_attempt(
    outcome: Outcome,
    attempts_made: int,
    retries_per_contact: int,
    retry_delay_seconds: int,
    now: float,
) -> AfterFailure:
    """`attempts_made` counts the attempt that just failed (1 after the first)."""
    if outcome in RETRYABLE and attempts_made <= retries_per_contact:
        return AfterFailure(C.PENDING, now + retry_delay_seconds)
    return AfterFailure(C.FAILED, 0.0)


@dataclass(frozen=True)
class Settlement:
    """What an ended attempt does to its contact."""

    contact_to: C
    outcome: Outcome
    next_attempt_at: float
    talk_seconds: float | None


def may_retry(campaign_status: CampaignStatus) -> bool:
    """A failed attempt may wait for a retry only while its campaign can still dial it: a
    paused campaign may resume, a stopped one never dials again (and keeps no pending
    contact)."""
    return not campaign_status.terminal


def settle(
    answered: bool,
    answered_at: float | None,
    ended_at: float,
    cause: int | None,
    tech_cause: str,
    originate_reason: int | None,
    attempts_made: int,
    retries_per_contact: int,
    retry_delay_seconds: int,
    campaign_status: CampaignStatus,
    lost: bool = False,
    undialable: bool = False,
) -> Settlement:
    """An answered call is completed whatever the hangup cause (a far end that hangs up
    without a Reason header gives cause 0); an unanswered one is classified and maybe
    retried, if its campaign may still dial. A call lost while the gateway was away is
    never re-dialled; an Originate that could not be built or sent (`undialable`) would
    fail the same way again: failed at once."""
    if answered:
        talk = max(0.0, ended_at - answered_at) if answered_at and not lost else None
        return Settlement(C.COMPLETED, Outcome.ANSWERED, 0.0, talk)
    if undialable:
        return Settlement(C.FAILED, Outcome.FAILED, 0.0, None)
    outcome = Outcome.LOST if lost else classify_failure(cause, tech_cause, originate_reason)
    retries = retries_per_contact if may_retry(campaign_status) else 0
    after = after_failed_attempt(outcome, attempts_made, retries, retry_delay_seconds, ended_at)
    return Settlement(after.status, outcome, after.next_attempt_at, None)


def not_sent(campaign_status: CampaignStatus) -> C:
    """An attempt whose Originate never left the gateway is undone: the contact waits to be
    dialled again, unless its campaign was stopped meanwhile."""
    return C.CANCELLED if campaign_status.terminal else C.PENDING
