"""What a stored event says: the one place the JSON of every event is built.

Two kinds, both streamed as SSE `data:` lines exactly as stored: a contact's transition
and a campaign's status change. The store writes them; SQLite calls `contact_event` too,
per row, when a stop cancels every pending contact in one statement.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.domain.contacts import check
from gateway.domain.model import ContactStatus


def contact_event(
    campaign_id: str,
    contact_id: int,
    phone_number: str,
    from_: str,
    to: str,
    attempt: int,
    at: str,
    outcome: str | None = None,
    hangup_cause: int | None = None,
    **extra: Any,
) -> str:
    """A contact transition; `extra` (sip_code, reason...) is included when not None.
    Refuses a transition the contact state machine does not allow."""
    check(ContactStatus(from_), ContactStatus(to))
    data = {
        "campaign_id": campaign_id,
        "contact_id": contact_id,
        "phone_number": phone_number,
        "from": from_,
        "to": to,
        "attempt": attempt,
        "outcome": outcome,
        "hangup_cause": hangup_cause,
        "time": at,
        **{k: v for k, v in extra.items() if v is not None},
    }
    return json.dumps(data)


def campaign_event(campaign_id: str, from_: str, to: str, at: str) -> str:
    """A campaign status change."""
    return json.dumps({"campaign_id": campaign_id, "from": from_, "to": to, "time": at})


def opt_out_event(campaign_id: str, contact_id: int, phone_number: str, at: str) -> str:
    """The person asked during the call not to be called again."""
    return json.dumps(
        {"campaign_id": campaign_id, "contact_id": contact_id, "phone_number": phone_number,
         "time": at}
    )  # fmt: skip


def amd_event(
    campaign_id: str, contact_id: int, phone_number: str, attempt: int, answered_by: str,
    amd_cause: str | None, at: str,
) -> str:  # fmt: skip
    """Answering-machine detection judged the answered call (before the call ends: the
    contact events that follow carry `answered_by` too)."""
    return json.dumps(
        {"campaign_id": campaign_id, "contact_id": contact_id, "phone_number": phone_number,
         "attempt": attempt, "answered_by": answered_by, "amd_cause": amd_cause, "time": at}
    )  # fmt: skip
