"""The GatewayAMD UserEvent, raised by asterisk-config's [gateway-amd] context after AMD():

    Event: UserEvent
    UserEvent: GatewayAMD
    Uniqueid: <the attempt id: the Originate's ChannelId>
    AttemptID: <the attempt id again: the ATTEMPT_ID channel variable>
    AMDSTATUS: HUMAN | MACHINE | NOTSURE | HANGUP
    AMDCAUSE: HUMAN-800-800 | LONGGREETING-1500-1500 | MAXWORDS-3-2 | TOOLONG-5000 |
              NOAUDIODATA-<ms> | ... (empty for HANGUP)

The header names the dialplan chose (AttemptID, AMDSTATUS, AMDCAUSE) are read in any
case: an operator's own copy of the context may spell them otherwise, and the dialplan
shipped before wrote AMDStatus / AMDCause (tests/transcripts/amd_verdicts.ami, recorded
from the sandbox's Asterisk 22, has those)."""

from __future__ import annotations

import re

from gateway.ami.protocol import Message
from gateway.domain.calls import AmdVerdict

USER_EVENT = "GatewayAMD"
STATUSES = frozenset({"HUMAN", "MACHINE", "NOTSURE", "HANGUP"})
_CAUSE = re.compile(r"[A-Z]+(-\d+){0,2}")


def parse_amd_verdict(message: Message) -> AmdVerdict | None:
    """The verdict in a GatewayAMD UserEvent; None for any other message, or one whose
    AMDSTATUS is not one of AMD()'s (a verdict the gateway cannot read is no verdict).
    The attempt is the channel's Uniqueid; an AttemptID that disagrees, or no Channel (a
    UserEvent another AMI user sent as an action without one), makes it no verdict
    either. That check stops a careless sender, not a hostile one, which can send any
    header: the boundary is AMI's `user` write class (asterisk-config/README.md). An
    AMDCAUSE that is not AMD()'s shape is kept out (empty)."""
    if message.get("Event") != "UserEvent" or message.get("UserEvent") != USER_EVENT:
        return None
    attempt_id = message.get("Uniqueid", "")
    status = (_header(message, "AMDSTATUS") or "").strip().upper()
    # The dialplan's UserEvent carries its channel; one sent as an AMI action has none.
    if not attempt_id or not message.get("Channel") or status not in STATUSES:
        return None
    if _header(message, "AttemptID") not in (None, attempt_id):
        return None
    cause = (_header(message, "AMDCAUSE") or "").strip()
    if not _CAUSE.fullmatch(cause):
        cause = ""
    return AmdVerdict(attempt_id, status, cause)


def _header(message: Message, name: str) -> str | None:
    """The value of the first header called `name` in any case; None when there is none."""
    value = message.get(name)
    if value is not None:
        return value
    folded = name.casefold()
    return next((v for k, v in message.items() if k.casefold() == folded), None)
