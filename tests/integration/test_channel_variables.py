"""What a CSV puts on a live channel, read back from Asterisk with AMI `Getvar`.

A CSV column reaches the dialplan only as `CF_<safe name>`: a column named after a
variable Asterisk acts on (`TRANSFER_CONTEXT`), after the operator's own limit
(`CAMPAIGN_MAX_CALL_SECONDS`), after a gateway variable with an inheritance prefix
(`_CAMPAIGN_ID`), or two columns that differ by a leading `_`, change nothing but their
own `CF_` variables. Checked on the real sandbox while the call is up (the far end talks
for about 2 s on a number ending in 0), from the witness's own AMI login.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest

from tests.integration.support import AmiWitness, Api, BackgroundLoop, Gateway, numbers, wait_until

pytestmark = pytest.mark.integration

# The longest value the upload takes for a column `long`: its Originate line
# `Variable: CF_long=<escaped>` CRLF is exactly 1000 bytes (README, CSV rules).
LONG = "é,(x)" * 108 + "é" * 4
COLUMNS = "TRANSFER_CONTEXT,CAMPAIGN_MAX_CALL_SECONDS,_CAMPAIGN_ID,first name,note,_note,long"
VALUES = f'evil,1,forged,Ann,plain,inherited,"{LONG}"'
OPERATOR_MAX_CALL_SECONDS = "3600"  # asterisk-config/extensions.conf [globals]
READ = (
    "CF_TRANSFER_CONTEXT",
    "TRANSFER_CONTEXT",
    "CF_CAMPAIGN_MAX_CALL_SECONDS",
    "CAMPAIGN_MAX_CALL_SECONDS",
    "GLOBAL(CAMPAIGN_MAX_CALL_SECONDS)",  # what extensions.conf reads
    "CF__CAMPAIGN_ID",
    "CAMPAIGN_ID",
    "CF_first_name",
    "CF_note",
    "CF__note",
    "note",
    "CF_long",
    "GATEWAY_PHONE_NUMBER",
    "PHONE_NUMBER",  # its name before GATEWAY_PHONE_NUMBER: no longer set
    "ATTEMPT_ID",
)


def test_the_long_value_is_at_the_limit() -> None:
    escaped = re.sub(r'([\\",()\[\]])', r"\\\1", LONG)
    assert len(f"Variable: CF_long={escaped}\r\n".encode()) == 1000


def create_with_csv(api: Api, csv: str, **fields: str) -> dict:
    """POST /campaigns with a CSV of any columns (support.Api.create writes numbers only)."""
    boundary = "cv" + uuid.uuid4().hex
    parts = [(f'name="{name}"', value) for name, value in fields.items()]
    parts.append(('name="contacts"; filename="contacts.csv"', csv))
    body = "".join(
        f"--{boundary}\r\nContent-Disposition: form-data; {disposition}\r\n\r\n{value}\r\n"
        for disposition, value in parts
    )
    body += f"--{boundary}--\r\n"
    content_type = f"multipart/form-data; boundary={boundary}"
    return api.request("POST", "/campaigns", body.encode(), content_type)


def getvar(background: BackgroundLoop, witness: AmiWitness, channel: str, name: str) -> str:
    reply = background.run(witness.action("Getvar", Channel=channel, Variable=name))
    assert reply.get("Response") == "Success", f"Getvar {name} on {channel}: {reply}"
    return reply.get("Value", "")


def test_csv_columns_reach_the_channel_only_as_cf_variables(
    gateway: Callable[..., Gateway], witness: AmiWitness, background: BackgroundLoop
) -> None:
    server = gateway()
    api = server.tenant("acme", max_calls=5, cps=5)
    server.start()
    [phone] = numbers("0", 1, exchange=557)
    created = create_with_csv(
        api, f"phone_number,{COLUMNS}\n{phone},{VALUES}\n", name="channel variables"
    )
    assert created["custom_field_names"] == COLUMNS.split(","), created
    api.command(created["id"], "start")

    caller_ids = [server.caller_ids["main"]]
    limit: list[str] = []

    def limit_is_set() -> bool:
        """The call is up and the dialplan has run its Set(TIMEOUT(absolute)=...)."""
        up = [c for c in witness.calls_of(caller_ids) if c.up is not None]
        if up and up[0].hangup is None:
            channel = up[0].channel
            limit[:] = [channel, getvar(background, witness, channel, "TIMEOUT(absolute)")]
        return bool(limit and limit[1])

    wait_until(limit_is_set, 20, "an answered call with TIMEOUT(absolute) set")
    channel, remaining = limit
    seen = {name: getvar(background, witness, channel, name) for name in READ}
    [call] = witness.calls_of(caller_ids)
    assert call.hangup is None, "the call ended while its variables were read"

    assert seen == {
        "CF_TRANSFER_CONTEXT": "evil",
        "TRANSFER_CONTEXT": "",
        "CF_CAMPAIGN_MAX_CALL_SECONDS": "1",
        "CAMPAIGN_MAX_CALL_SECONDS": OPERATOR_MAX_CALL_SECONDS,  # the global, not the CSV's
        "GLOBAL(CAMPAIGN_MAX_CALL_SECONDS)": OPERATOR_MAX_CALL_SECONDS,
        "CF__CAMPAIGN_ID": "forged",
        "CAMPAIGN_ID": created["id"],
        "CF_first_name": "Ann",
        "CF_note": "plain",
        "CF__note": "inherited",
        "note": "",
        "CF_long": LONG,  # at the byte limit, through Asterisk's parser unchanged
        "GATEWAY_PHONE_NUMBER": phone,
        "PHONE_NUMBER": "",
        "ATTEMPT_ID": call.uniqueid,
    }
    # The limit in force is the operator's hour, not the 1 s of the CSV column.
    assert float(OPERATOR_MAX_CALL_SECONDS) - 30 < float(remaining) <= 3600, remaining
    done = api.wait_status(created["id"], "completed", 30)
    assert done["counts"]["completed"] == 1, done
    witness.check_healthy()
