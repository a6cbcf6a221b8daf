"""The campaign state machine: pure functions from (campaign, command, facts) to a decision.

Every command answers either a `Transition` (the new status and the timestamps to set) or
raises `Refused` with the message the API shows (409).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.domain.model import CampaignStatus as S


class Refused(Exception):
    """The command is not allowed in the campaign's current state (HTTP 409)."""


@dataclass(frozen=True)
class Transition:
    status: S
    set_started_at: bool = False
    set_completed_at: bool = False
    cancel_pending: bool = False


# Campaigns whose max_concurrent_calls count against the tenant's concurrent-call budget.
# A scheduled campaign counts: it will run without asking again.
BUDGET_STATUSES = frozenset({S.RUNNING, S.SCHEDULED})


def start(status: S, scheduled_at: datetime | None, now: datetime) -> Transition:
    if status is S.DRAFT:
        if scheduled_at is not None and scheduled_at > now:
            return Transition(S.SCHEDULED)
        return Transition(S.RUNNING, set_started_at=True)
    if status is S.PAUSED:
        return Transition(S.RUNNING)
    raise Refused(f"cannot start a campaign that is {status.value}")


def pause(status: S) -> Transition:
    if status is S.RUNNING:
        return Transition(S.PAUSED)
    raise Refused(f"cannot pause a campaign that is {status.value}; only a running one")


def resume(status: S) -> Transition:
    if status is S.PAUSED:
        return Transition(S.RUNNING)
    raise Refused(f"cannot resume a campaign that is {status.value}; only a paused one")


def stop(status: S) -> Transition | None:
    """Stop is idempotent on a terminal campaign: None means nothing to change."""
    if status.terminal:
        return None
    if status is S.IMPORTING:
        raise Refused("the campaign is still importing")
    return Transition(S.STOPPED, set_completed_at=True, cancel_pending=True)


def begin_scheduled(status: S, scheduled_at: datetime | None, now: datetime) -> Transition | None:
    """A scheduled campaign whose time has come starts running."""
    if status is S.SCHEDULED and (scheduled_at is None or scheduled_at <= now):
        return Transition(S.RUNNING, set_started_at=True)
    return None


def complete_if_done(status: S, pending: int, in_flight: int) -> Transition | None:
    """A running or paused campaign with every contact final is completed."""
    if status in (S.RUNNING, S.PAUSED) and pending == 0 and in_flight == 0:
        return Transition(S.COMPLETED, set_completed_at=True)
    return None


def check_delete(status: S, in_flight: int) -> None:
    if status is S.RUNNING:
        raise Refused("cannot delete a running campaign; pause or stop it first")
    if in_flight:
        raise Refused(f"cannot delete a campaign with {in_flight} calls in flight")


def check_budget(tenant_max: int, committed: int, wanted: int) -> None:
    """Reference behaviour: the sum of max_concurrent_calls of the tenant's running campaigns
    plus this one may not exceed the tenant's concurrent-call maximum."""
    if committed + wanted > tenant_max:
        raise Refused(
            f"concurrency budget exceeded: running campaigns use {committed} of the tenant's "
            f"{tenant_max} concurrent calls and this campaign needs {wanted}"
        )
