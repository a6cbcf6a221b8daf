"""The telephony port: what the dialler asks of a telephony backend, and what it hears back.

The dispatcher speaks only these types. `AmiTelephony` (gateway.ami) implements the port
over the Asterisk Manager Interface; tests may implement it with a fake.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class OriginateRequest:
    """One attempt to call one contact. Every string here is already validated."""

    attempt_id: str  # becomes the AMI ActionID and ChannelId (so the channel's Uniqueid)
    channel: str  # dial string, e.g. "PJSIP/+14155550100@carrier"
    caller_id: str  # e.g. '"Acme" <+15551230000>' or "+15551230000"
    context: str
    extension: str
    priority: int
    timeout_ms: int  # ring timeout
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CallAnswered:
    """The far end answered (OriginateResponse Reason 4 or Newstate Up). Sent at most once."""

    attempt_id: str


@dataclass(frozen=True)
class CallEnded:
    """The attempt is over. Sent exactly once per originated attempt, after CallAnswered if any.

    `cause` is the Q.850 cause of the Hangup event (None when no channel was ever created,
    e.g. the Originate failed before dialling; then `originate_reason` says why).
    """

    attempt_id: str
    answered: bool
    cause: int | None = None
    cause_txt: str = ""
    tech_cause: str = ""  # e.g. the SIP response code, "486"
    originate_reason: int | None = None  # OriginateResponse Reason, when one was seen


@dataclass(frozen=True)
class OptedOut:
    """The dialplan raised UserEvent(GatewayOptOut) on the answered call: the person asked
    not to be called again."""

    attempt_id: str


@dataclass(frozen=True)
class AmdVerdict:
    """The dialplan's answering-machine detection judged the answered call: UserEvent
    GatewayAMD with AMDSTATUS (`status`: HUMAN, MACHINE, NOTSURE, HANGUP) and AMDCAUSE
    (`cause`, e.g. LONGGREETING-1500-1500). `seconds` is the time from the answer to the
    verdict as the gateway heard them (None if it did not hear the answer)."""

    attempt_id: str
    status: str
    cause: str = ""
    seconds: float | None = None


@dataclass(frozen=True)
class TelephonyState:
    """The connection's health, for readiness checks and metrics."""

    connected: bool
    logged_in: bool
    last_error: str = ""
    reconnects: int = 0


CallEvent = CallAnswered | CallEnded | OptedOut | AmdVerdict


class OriginateRefused(Exception):
    """Asterisk refused the Originate action itself (Response: Error)."""


class TelephonyUnavailable(Exception):
    """No usable connection. `maybe_sent` is True when the action may have reached Asterisk
    before the connection dropped (the attempt must then be reconciled, never re-sent)."""

    def __init__(self, message: str, maybe_sent: bool = False) -> None:
        super().__init__(message)
        self.maybe_sent = maybe_sent


class Telephony(Protocol):
    """The port. Implementations: gateway.ami.telephony.AmiTelephony."""

    def on_call_event(self, callback: Callable[[CallEvent], None]) -> None:
        """Register the single consumer of call events (called in the event loop)."""

    def on_state_change(self, callback: Callable[[TelephonyState], None]) -> None:
        """Called on every login / disconnect, so the dispatcher can pause and reconcile."""

    @property
    def state(self) -> TelephonyState: ...

    async def originate(self, request: OriginateRequest) -> None:
        """Send one Async Originate; return when Asterisk accepted it (Response: Success).

        Raises OriginateRefused when Asterisk answered Error (no call events will follow),
        TelephonyUnavailable when not logged in or the connection dropped before the answer
        (maybe_sent=True when the action may have reached Asterisk). Never retried inside.
        """

    async def live_attempts(self) -> set[str]:
        """The attempt ids (channel Uniqueids) of channels alive now (CoreShowChannels)."""

    def track(self, attempt_id: str, answered: bool) -> None:
        """Follow a call that is alive but was not originated by this process (restart)."""

    def forget(self, attempt_id: str) -> None:
        """Stop following an attempt, sending no event (it was settled otherwise)."""

    def tracked(self) -> set[str]:
        """The attempts being followed."""

    async def start(self) -> None:
        """Begin connecting in the background; never raises for an unreachable Asterisk."""

    async def close(self) -> None: ...
