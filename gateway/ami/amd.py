"""The GatewayAMD UserEvent, raised by asterisk-config's [gateway-amd] context after AMD():

    Event: UserEvent
    UserEvent: GatewayAMD
    Uniqueid: <the attempt id: the Originate's ChannelId>
    AttemptID: <the attempt id again: the ATTEMPT_ID channel variable>
    AMDStatus: HUMAN | MACHINE | NOTSURE | HANGUP
    AMDCause: HUMAN-800-800 | LONGGREETING-1500-1500 | MAXWORDS-3-2 | TOOLONG-5000 | ...

(see tests/transcripts/amd_verdicts.ami, recorded from the sandbox's Asterisk 22)."""

from __future__ import annotations

import re

from gateway.ami.protocol import Message
from gateway.domain.calls import AmdVerdict

USER_EVENT = "GatewayAMD"
STATUSES = frozenset({"HUMAN", "MACHINE", "NOTSURE", "HANGUP"})
_CAUSE = re.compile(r"[A-Z]+(-\d+){0,2}")


def parse_amd_verdict(message: Message) -> AmdVerdict | None:
    """The verdict in a GatewayAMD UserEvent; None for any other message, or one whose
    AMDStatus is not one of AMD()'s (a verdict the gateway cannot read is no verdict).
    The attempt is the channel's Uniqueid; an AttemptID that disagrees makes it no
    verdict either. An AMDCause that is not AMD()'s shape is kept out (empty)."""
    if message.get("Event") != "UserEvent" or message.get("UserEvent") != USER_EVENT:
        return None
    attempt_id = message.get("Uniqueid", "")
    status = message.get("AMDStatus", "").strip().upper()
    if not attempt_id or status not in STATUSES:
        return None
    if message.get("AttemptID", attempt_id) != attempt_id:
        return None
    cause = message.get("AMDCause", "").strip()
    if not _CAUSE.fullmatch(cause):
        cause = ""
    return AmdVerdict(attempt_id, status, cause)
