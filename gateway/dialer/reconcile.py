"""Reconciliation after every AMI login of a node: the calls that Asterisk still has are
followed again; attempts sent to it whose channel is gone ended while the gateway could not
hear, and are settled as lost, never dialled again. The node gets no call until this has
run (`ready`)."""

from __future__ import annotations

import asyncio
import time

import structlog

from gateway.dialer.recorder import CallRecorder
from gateway.domain.calls import Telephony
from gateway.domain.capacity import Capacity
from gateway.domain.model import CampaignKey
from gateway.store.dialing import DialStore, End, OpenAttempt

log = structlog.get_logger(__name__)

GONE = "the call ended while the gateway could not hear Asterisk"
UNCONFIRMED = "Asterisk never answered the Originate and has no channel for it"
UNCONFIRMED_GRACE = 10.0  # beyond the ring timeout, before an unanswered Originate is judged


class Reconciler:
    def __init__(
        self,
        store: DialStore,
        telephony: Telephony,
        capacity: Capacity,
        recorder: CallRecorder,
        grace: float,
        node: str,
        claims_unassigned: bool = False,
        adopted: str = "",
    ) -> None:
        self._store = store
        self._telephony = telephony
        self._capacity = capacity
        self._recorder = recorder
        self.grace = grace  # let events already on the wire arrive before judging
        self.node = node
        self.claims = claims_unassigned  # attempts stored before nodes existed are its
        self.adopted = adopted  # and those of this unconfigured node (the old shorthand's)
        self.ready = False  # reconciled since the last login
        # Calls settled lost while the node was away too long (their attempts ended): if
        # Asterisk still has one when the node returns, it holds a place until it hangs up.
        self.written_off: dict[str, CampaignKey] = {}

    async def reconcile(self) -> bool:
        """True once reconciled; False if the connection dropped again (the next login
        reconciles). The caller sets `ready`, if this is still the login it was for."""
        if await self._open():  # nothing in flight: no grace to wait out
            await asyncio.sleep(self.grace)
        # Judged: the attempts open before the listing. One begun after this read is not
        # sent before `ready` (the dispatcher undoes it), so it cannot be missing from the
        # listing; one that ends meanwhile is judged lost as a no-op replay of its end.
        judged = await self._open()
        try:
            live = await self._telephony.live_attempts()
        except Exception as exc:
            log.warning("reconciliation failed", error=str(exc))
            return False
        tracked = self._telephony.tracked()
        attached = lost = 0
        for attempt in judged:
            self._capacity.hold(attempt.id, attempt.campaign, self.node)
            if attempt.id in live:
                if attempt.id not in tracked:
                    self._telephony.track(attempt.id, answered=attempt.status == "connected")
                attached += 1
            else:
                self._telephony.forget(attempt.id)
                self._recorder.put(
                    End(attempt.id, time.time(), lost=True, reason=GONE, node=self.node)
                )
                lost += 1
        alive = 0
        for attempt_id, campaign in self.written_off.items():
            if attempt_id in live and attempt_id not in tracked:
                self._capacity.hold(attempt_id, campaign, self.node)  # freed by its Hangup
                self._telephony.track(attempt_id, answered=True)
                alive += 1
        self.written_off.clear()
        log.info("reconciled with Asterisk", node=self.node, live=attached, lost=lost,
                 written_off_alive=alive)  # fmt: skip
        return True

    async def _open(self) -> list[OpenAttempt]:
        return await self._store.open_attempts(self.node, self.claims, self.adopted)

    async def check_unconfirmed(self, attempt_id: str, ring_timeout: float) -> None:
        """An Originate got no answer, but the connection stayed up: it may have reached
        Asterisk. Once any call it started would have a channel, look: a live channel is
        followed as usual; none means it never became a call, settled as lost (never
        re-sent). A drop meanwhile leaves it to the reconciliation after the next login."""
        await asyncio.sleep(ring_timeout + UNCONFIRMED_GRACE)
        if attempt_id not in self._telephony.tracked() or not self._telephony.state.logged_in:
            return  # its events came after all, or the next login judges it
        try:
            live = await self._telephony.live_attempts()
        except Exception as exc:
            log.warning("checking an unconfirmed Originate failed", attempt_id=attempt_id,
                        error=str(exc))  # fmt: skip
            return
        if attempt_id in live or attempt_id not in self._telephony.tracked():
            return
        log.warning("unconfirmed Originate never became a call", attempt_id=attempt_id)
        self._telephony.forget(attempt_id)
        self._recorder.put(
            End(attempt_id, time.time(), lost=True, reason=UNCONFIRMED, node=self.node)
        )
