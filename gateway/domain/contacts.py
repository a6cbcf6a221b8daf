"""The contact state machine and the rules that classify and retry call outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
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
        (C.PENDING, C.FAILED),  # on a do-not-call list when its turn came
        (C.ORIGINATED, C.CONNECTED),  # answered
        (C.ORIGINATED, C.PENDING),  # failed attempt, a retry is due later; or never sent
        (C.ORIGINATED, C.CANCELLED),  # never sent, and the campaign was stopped meanwhile
        (C.ORIGINATED, C.FAILED),  # failed attempt, attempts exhausted or not retryable
        (C.CONNECTED, C.COMPLETED),  # answered call ended
        (C.CONNECTED, C.FAILED),  # answered by a machine and hung up on (AMD)
        (C.CONNECTED, C.PENDING),  # the same, retried: `machine` in retry_on
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
    DO_NOT_CALL = "do_not_call"  # on a do-not-call list: never dialled
    MACHINE = "machine"  # answered by a machine (AMD) and hung up on: no machine agent


# The default of `retry_on`: every outcome worth another try. A machine is not retried
# unless the campaign names `machine` in its retry_on.
RETRYABLE = frozenset({Outcome.BUSY, Outcome.NO_ANSWER, Outcome.CONGESTION, Outcome.FAILED})
# What `retry_on` may name.
RETRY_ON_VALUES = RETRYABLE | {Outcome.MACHINE}
NEVER_RETRIED = frozenset(
    {Outcome.INVALID_NUMBER, Outcome.REJECTED, Outcome.DO_NOT_CALL, Outcome.LOST}
)

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
    decision: str  # retry_scheduled or not_retried
    detail: str


def after_failed_attempt(
    outcome: Outcome,
    attempts_made: int,
    retries_per_contact: int,
    retry_delay_seconds: int,
    now: float,
    retry_on: frozenset[str] = RETRYABLE,
    stopped: bool = False,
) -> AfterFailure:
    """`attempts_made` counts the attempt that just failed (1 after the first). A retry
    needs an outcome in the campaign's `retry_on`, an attempt left and a campaign that may
    still dial."""
    allowed = 1 + retries_per_contact
    if outcome in NEVER_RETRIED:
        why = f"{outcome.value} is never retried"
    elif outcome not in retry_on:
        why = f"{outcome.value} is not in retry_on ({', '.join(sorted(retry_on)) or 'empty'})"
    elif stopped:
        why = f"{outcome.value}; the campaign was stopped"
    elif attempts_made > retries_per_contact:
        why = f"{outcome.value}; no attempt left ({attempts_made} of {allowed} made)"
    else:
        at = now + retry_delay_seconds
        detail = f"{outcome.value}; attempt {attempts_made + 1} of {allowed} due at {_iso(at)}"
        return AfterFailure(C.PENDING, at, "retry_scheduled", detail)
    return AfterFailure(C.FAILED, 0.0, "not_retried", why)


def _iso(unix: float) -> str:
    moment = datetime.fromtimestamp(unix, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Settlement:
    """What an ended attempt does to its contact, and the decision it records (none for
    an answered call: its decision was to dial it)."""

    contact_to: C
    outcome: Outcome
    next_attempt_at: float
    talk_seconds: float | None
    decision: str | None = None
    detail: str = ""


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
    retry_on: frozenset[str] = RETRYABLE,
    machine_hung_up: bool = False,
) -> Settlement:
    """An answered call is completed whatever the hangup cause (a far end that hangs up
    without a Reason header gives cause 0); an unanswered one is classified and maybe
    retried, if its outcome is in `retry_on` and its campaign may still dial. A call lost
    while the gateway was away is never re-dialled; an Originate that could not be built
    or sent (`undialable`) would fail the same way again: failed at once. An answered call
    that AMD judged a machine, with no machine agent to take it (`machine_hung_up`), is a
    failed attempt, outcome `machine`, retried only if `machine` is in `retry_on`."""
    if answered and machine_hung_up and not lost:
        after = after_failed_attempt(
            Outcome.MACHINE, attempts_made, retries_per_contact, retry_delay_seconds,
            ended_at, retry_on, stopped=not may_retry(campaign_status),
        )  # fmt: skip
        return Settlement(
            after.status, Outcome.MACHINE, after.next_attempt_at, None, after.decision,
            after.detail,
        )  # fmt: skip
    if answered:
        talk = max(0.0, ended_at - answered_at) if answered_at and not lost else None
        return Settlement(C.COMPLETED, Outcome.ANSWERED, 0.0, talk)
    if undialable:
        return Settlement(C.FAILED, Outcome.FAILED, 0.0, None, "not_retried",
                          "the call could not be placed; it would fail again")  # fmt: skip
    outcome = Outcome.LOST if lost else classify_failure(cause, tech_cause, originate_reason)
    after = after_failed_attempt(
        outcome, attempts_made, retries_per_contact, retry_delay_seconds, ended_at,
        retry_on, stopped=not may_retry(campaign_status),
    )  # fmt: skip
    return Settlement(
        after.status, outcome, after.next_attempt_at, None, after.decision, after.detail
    )


def parse_retry_on(text: str) -> frozenset[str]:
    """`retry_on` as the form gives it, "busy,no_answer"; ValueError naming a bad value."""
    values = [v.strip() for v in text.split(",")]
    values = [v for v in values if v]
    for value in values:
        if value in NEVER_RETRIED:
            raise ValueError(f"{value!r} is never retried")
        if value not in RETRY_ON_VALUES:
            known = ", ".join(sorted(RETRY_ON_VALUES))
            raise ValueError(f"unknown outcome {value[:40]!r} (one of {known})")
    return frozenset(values)


RETRY_ORDER = tuple(o.value for o in Outcome if o in RETRY_ON_VALUES)


def format_retry_on(retry_on: frozenset[str]) -> str:
    """Stored and shown in a fixed order."""
    return ",".join(o for o in RETRY_ORDER if o in retry_on)


def not_sent(campaign_status: CampaignStatus) -> C:
    """An attempt whose Originate never left the gateway is undone: the contact waits to be
    dialled again, unless its campaign was stopped meanwhile."""
    return C.CANCELLED if campaign_status.terminal else C.PENDING
