"""`AmiTelephony`: the telephony port (gateway.domain.calls) over an `AmiClient`.

One Async Originate per attempt with ActionID = ChannelId = the attempt id, so every event
of the call carries the attempt id as its Uniqueid. Events are mapped per attempt:

- ``Newchannel``: the channel exists (a Hangup with the real cause will follow);
- ``Newstate`` ChannelState 6, or ``OriginateResponse`` Success: `CallAnswered`, once;
- ``Hangup``: `CallEnded` with Cause, Cause-txt and TechCause, once;
- ``OriginateResponse`` Failure: if the channel exists and has not hung up yet, wait up to
  `hangup_grace` seconds for its Hangup (it carries the cause); if no channel was ever
  created, `CallEnded(cause=None, originate_reason=Reason)` at once (or after
  `no_channel_grace` seconds, if set: Newchannel/Hangup travel through Asterisk's stasis
  bus while OriginateResponse is written directly, so for a call that fails at once the
  OriginateResponse can overtake them; a short grace keeps the real cause then).

Hangup may come before or after OriginateResponse. Events of channels that are not
tracked (other PBX traffic, attempts already ended) are ignored.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
from collections.abc import Callable
from typing import Any

from gateway.ami.amd import parse_amd_verdict
from gateway.ami.client import (
    AmiActionTimeout,
    AmiClient,
    AmiDisconnected,
    AmiNotConnected,
    AmiState,
)
from gateway.ami.protocol import Message, encode_action
from gateway.domain.calls import (
    CallAnswered,
    CallEnded,
    CallEvent,
    OptedOut,
    OriginateRefused,
    OriginateRequest,
    TelephonyState,
    TelephonyUnavailable,
)
from gateway.domain.variables import escape_variable_value  # re-exported

__all__ = ["VARIABLE_NAME", "AmiTelephony", "escape_variable_value"]


VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
MAX_ATTEMPT_ID = 149  # Asterisk's longest ChannelId (AST_MAX_PUBLIC_UNIQUEID)


class _Call:
    """What is known of one tracked attempt."""

    __slots__ = ("answered", "answered_at", "channel", "reason", "timer", "timer_for_channel")

    def __init__(self, channel: bool = False, answered: bool = False) -> None:
        self.channel = channel
        self.answered = answered
        self.answered_at: float | None = None  # monotonic time the answer was heard
        self.reason: int | None = None
        self.timer: asyncio.TimerHandle | None = None  # waiting for a Hangup
        self.timer_for_channel = False  # the timer was started with the channel known


class AmiTelephony:
    """The `Telephony` port over AMI. Owns its `AmiClient` (started and closed with it)."""

    def __init__(
        self,
        client: AmiClient,
        *,
        hangup_grace: float = 5.0,
        no_channel_grace: float = 0.0,
        originate_timeout: float | None = None,
        list_timeout: float | None = None,
    ) -> None:
        self._client = client
        self.hangup_grace = hangup_grace
        self.no_channel_grace = no_channel_grace
        self._originate_timeout = originate_timeout
        self._list_timeout = list_timeout
        self._calls: dict[str, _Call] = {}
        self._consumer: Callable[[CallEvent], None] | None = None
        self._state_callbacks: list[Callable[[TelephonyState], None]] = []
        self._state = _to_state(client.state)
        self._events = {
            "Newchannel": self._on_newchannel,
            "Newstate": self._on_newstate,
            "Hangup": self._on_hangup,
            "OriginateResponse": self._on_originate_response,
            "UserEvent": self._on_user_event,
        }
        client.add_event_handler(self._on_event)
        client.on_state_change(self._on_client_state)

    @classmethod
    def create(
        cls,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        hangup_grace: float = 5.0,
        no_channel_grace: float = 0.0,
        **client_options: Any,
    ) -> AmiTelephony:
        """Build the client too; `client_options` are AmiClient's keyword arguments."""
        client = AmiClient(host, port, username, secret, **client_options)  # node=: its id
        return cls(client, hangup_grace=hangup_grace, no_channel_grace=no_channel_grace)

    # -- the port -----------------------------------------------------------------------

    @property
    def client(self) -> AmiClient:
        return self._client

    @property
    def state(self) -> TelephonyState:
        return self._state

    def on_call_event(self, callback: Callable[[CallEvent], None]) -> None:
        self._consumer = callback

    def on_state_change(self, callback: Callable[[TelephonyState], None]) -> None:
        self._state_callbacks.append(callback)

    async def start(self) -> None:
        await self._client.start()

    async def close(self) -> None:
        await self._client.close()
        for call in self._calls.values():
            if call.timer is not None:
                call.timer.cancel()
                call.timer = None

    async def originate(self, request: OriginateRequest) -> None:
        attempt_id = request.attempt_id
        if not attempt_id or len(attempt_id) > MAX_ATTEMPT_ID:
            raise ValueError(f"attempt id must be 1-{MAX_ATTEMPT_ID} characters")
        if attempt_id in self._calls:
            raise ValueError(f"attempt {attempt_id!r} is already being tracked")
        variables = []
        for name, value in request.variables.items():
            if VARIABLE_NAME.fullmatch(name) is None:
                raise ValueError(f"unsafe channel variable name {name!r}")
            variables.append(f"{name}={escape_variable_value(value)}")
        action: dict[str, str | list[str]] = {
            "Action": "Originate",
            "ActionID": attempt_id,
            "ChannelId": attempt_id,
            "Channel": request.channel,
            "Context": request.context,
            "Exten": request.extension,
            "Priority": str(request.priority),
            "Timeout": str(request.timeout_ms),
            "CallerID": request.caller_id,
            "Async": "true",
        }
        if variables:
            action["Variable"] = variables
        if not self._client.logged_in:
            encode_action(action)  # unsafe input is a ValueError, whatever the connection
            raise TelephonyUnavailable("AMI is not logged in", maybe_sent=False)
        # Tracked before sending: Newchannel may arrive before the response.
        self._calls[attempt_id] = _Call()
        try:
            response = await self._client.send_action(action, self._originate_timeout)
        except AmiNotConnected as exc:
            self._calls.pop(attempt_id, None)
            raise TelephonyUnavailable(str(exc), maybe_sent=False) from None
        except (AmiDisconnected, AmiActionTimeout) as exc:
            # It may have reached Asterisk: keep following its events; never re-sent.
            raise TelephonyUnavailable(str(exc), maybe_sent=True) from None
        except ValueError:
            self._calls.pop(attempt_id, None)
            raise
        if response.get("Response") != "Success":
            self._forget(attempt_id)
            raise OriginateRefused(response.get("Message", "") or "Originate refused")

    async def live_attempts(self) -> set[str]:
        try:
            response = await self._client.send_action(
                {"Action": "CoreShowChannels"}, self._list_timeout
            )
        except AmiNotConnected as exc:
            raise TelephonyUnavailable(str(exc), maybe_sent=False) from None
        except (AmiDisconnected, AmiActionTimeout) as exc:
            raise TelephonyUnavailable(str(exc), maybe_sent=True) from None
        if response.get("Response") != "Success":
            message = response.get("Message", "")
            raise TelephonyUnavailable(f"CoreShowChannels refused: {message}", maybe_sent=False)
        return {
            uid
            for event in response.events
            if event.get("Event") == "CoreShowChannel" and (uid := event.get("Uniqueid"))
        }

    # -- beyond the port: re-attaching after a restart or reconnect ---------------------

    def track(self, attempt_id: str, answered: bool) -> None:
        """Follow a live call this process did not originate (or lost sight of)."""
        call = self._calls.get(attempt_id)
        if call is None:
            self._calls[attempt_id] = _Call(channel=True, answered=answered)
        else:
            call.channel = True
            call.answered = call.answered or answered

    def forget(self, attempt_id: str) -> None:
        """Stop following an attempt settled by other means (no event will be sent)."""
        self._forget(attempt_id)

    def tracked(self) -> set[str]:
        """The attempt ids whose CallEnded has not been sent yet."""
        return set(self._calls)

    # -- events -------------------------------------------------------------------------

    def _on_event(self, message: Message) -> None:
        # The hot path: two dict lookups for an event of a channel that is not ours.
        name = message.get("Event")
        handler = self._events.get(name)  # type: ignore[arg-type]
        if handler is None:
            return
        uid = message.get("Uniqueid")
        call = self._calls.get(uid)  # type: ignore[arg-type]
        if call is None:
            if name != "OriginateResponse":
                return
            # Its Uniqueid is not the attempt's when no channel exists (Asterisk writes
            # "<null>" there): the ActionID, also the attempt id, still matches.
            uid = message.get("ActionID")
            call = self._calls.get(uid)  # type: ignore[arg-type]
            if call is None:
                return
        handler(uid, call, message)  # type: ignore[arg-type]

    def _on_newchannel(self, attempt_id: str, call: _Call, message: Message) -> None:
        call.channel = True

    def _on_newstate(self, attempt_id: str, call: _Call, message: Message) -> None:
        call.channel = True
        if message.get("ChannelState") == "6":
            self._answer(attempt_id, call)

    def _on_originate_response(self, attempt_id: str, call: _Call, message: Message) -> None:
        call.reason = _int_or_none(message.get("Reason"))
        if message.get("Response") == "Success" or call.reason == 4:
            self._answer(attempt_id, call)
        elif call.channel:
            # The Hangup carries the real cause; wait for it, but not forever.
            self._wait_for_hangup(attempt_id, call, self.hangup_grace)
        elif self.no_channel_grace > 0:
            self._wait_for_hangup(attempt_id, call, self.no_channel_grace)
        else:
            self._end(attempt_id, call, None, "", "")

    def _on_user_event(self, attempt_id: str, call: _Call, message: Message) -> None:
        """Only the names the gateway's own dialplan raises; on one of its calls (with the
        channel's snapshot: a UserEvent another AMI user sends as an action has none,
        unless it forges the headers; who may is AMI's `user` write class)."""
        if not message.get("Channel"):
            return
        if message.get("UserEvent") == "GatewayOptOut":
            self._emit(OptedOut(attempt_id))
            return
        verdict = parse_amd_verdict(message)
        if verdict is not None and verdict.attempt_id == attempt_id:
            seconds = None
            if call.answered_at is not None:
                seconds = max(0.0, time.monotonic() - call.answered_at)
            self._emit(dataclasses.replace(verdict, seconds=seconds))

    def _wait_for_hangup(self, attempt_id: str, call: _Call, delay: float) -> None:
        if call.timer is None:
            loop = asyncio.get_running_loop()
            call.timer = loop.call_later(delay, self._hangup_missing, attempt_id)
            call.timer_for_channel = call.channel

    def _on_hangup(self, attempt_id: str, call: _Call, message: Message) -> None:
        if message.get("ChannelState") == "6":  # Up when hung up: it was answered
            self._answer(attempt_id, call)
        self._end(
            attempt_id,
            call,
            _int_or_none(message.get("Cause")),
            message.get("Cause-txt", ""),
            message.get("TechCause", ""),
        )

    def _hangup_missing(self, attempt_id: str) -> None:
        call = self._calls.get(attempt_id)
        if call is None:
            return
        call.timer = None
        if call.channel and not call.timer_for_channel:
            # A late Newchannel came during the no-channel grace: now wait for its Hangup.
            self._wait_for_hangup(attempt_id, call, self.hangup_grace)
            return
        if call.channel:
            self._client.logger.warning(
                "ami.hangup_missing", attempt_id=attempt_id, grace=self.hangup_grace
            )
        self._end(attempt_id, call, None, "", "")

    def _answer(self, attempt_id: str, call: _Call) -> None:
        if not call.answered:
            call.answered = True
            call.answered_at = time.monotonic()
            self._emit(CallAnswered(attempt_id))

    def _end(
        self, attempt_id: str, call: _Call, cause: int | None, cause_txt: str, tech: str
    ) -> None:
        self._forget(attempt_id)
        self._emit(CallEnded(attempt_id, call.answered, cause, cause_txt, tech, call.reason))

    def _forget(self, attempt_id: str) -> None:
        call = self._calls.pop(attempt_id, None)
        if call is not None and call.timer is not None:
            call.timer.cancel()
            call.timer = None

    def _emit(self, event: CallEvent) -> None:
        consumer = self._consumer
        if consumer is None:
            self._client.logger.warning("ami.call_event_dropped", call_event=type(event).__name__)
            return
        try:
            consumer(event)
        except Exception:
            self._client.logger.exception(
                "ami.call_event_consumer_failed", attempt_id=event.attempt_id
            )

    def _on_client_state(self, state: AmiState) -> None:
        self._state = _to_state(state)
        for callback in list(self._state_callbacks):
            try:
                callback(self._state)
            except Exception:
                self._client.logger.exception("ami.state_consumer_failed")


def _to_state(state: AmiState) -> TelephonyState:
    return TelephonyState(
        connected=state.connected,
        logged_in=state.logged_in,
        last_error=state.last_error,
        reconnects=state.reconnects,
    )


def _int_or_none(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None
