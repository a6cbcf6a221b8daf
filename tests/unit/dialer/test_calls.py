"""The Originate's variables: CSV columns only as CF_<name>, never the gateway's own."""

from dataclasses import replace

import pytest

from gateway.config import Agent, Config, PhoneNumber
from gateway.dialer.calls import originate_request
from gateway.domain.model import Campaign, CampaignStatus
from gateway.store.dialing import DialTarget

OWN = ("GATEWAY_PHONE_NUMBER", "CONTACT_ID", "CAMPAIGN_ID", "ATTEMPT_ID")
IDS = {"CONTACT_ID", "CAMPAIGN_ID", "ATTEMPT_ID"}  # made by the gateway, never a tenant's
# Every gateway variable as a column, with and without Asterisk's inheritance prefixes,
# plus names Asterisk itself acts on.
COLUMNS = [
    *OWN,
    *(f"_{name}" for name in OWN),
    *(f"__{name}" for name in OWN),
    "PHONE_NUMBER",  # the number's variable before it was GATEWAY_PHONE_NUMBER
    "TRANSFER_CONTEXT",
    "CAMPAIGN_MAX_CALL_SECONDS",
    "first name",
    "2nd",
]


def campaign(columns: list[str]) -> Campaign:
    return Campaign(
        pk=1, id="camp-1", tenant_id=1, name="c", status=CampaignStatus.RUNNING,
        agent_id="ivr", phone_number_id="main", max_concurrent_calls=1,
        retries_per_contact=0, retry_delay_seconds=60, max_calls_per_second=None,
        ring_timeout_seconds=30, timezone="UTC", window_start=None, window_end=None,
        scheduled_at=None, created_at="", started_at=None, completed_at=None,
        created_by="t", custom_field_names=columns,
    )  # fmt: skip


CONFIG = Config(
    agents=(Agent("ivr", "campaign"), Agent("voicemail", "campaign", "machine")),
    phone_numbers=(PhoneNumber("main", "+15551230000", "PJSIP/{number}@carrier"),),
)


def test_no_column_shadows_a_gateway_variable() -> None:
    config = CONFIG
    forged = [f"forged {i}" for i in range(len(COLUMNS))]
    target = DialTarget(7, "+14155550100", forged, 1)
    request = originate_request(config, campaign(COLUMNS), target, "att-1")
    variables = request.variables
    own = {"GATEWAY_PHONE_NUMBER": "+14155550100", "CONTACT_ID": "7", "CAMPAIGN_ID": "camp-1",
           "ATTEMPT_ID": "att-1"}  # fmt: skip
    assert {name: variables[name] for name in own} == own
    custom = {name: value for name, value in variables.items() if name not in own}
    assert set(custom) == {
        "CF_GATEWAY_PHONE_NUMBER", "CF_CONTACT_ID", "CF_CAMPAIGN_ID", "CF_ATTEMPT_ID",
        "CF__GATEWAY_PHONE_NUMBER", "CF__CONTACT_ID", "CF__CAMPAIGN_ID", "CF__ATTEMPT_ID",
        "CF___GATEWAY_PHONE_NUMBER", "CF___CONTACT_ID", "CF___CAMPAIGN_ID", "CF___ATTEMPT_ID",
        "CF_PHONE_NUMBER", "CF_TRANSFER_CONTEXT", "CF_CAMPAIGN_MAX_CALL_SECONDS",
        "CF_first_name", "CF_2nd",
    }  # fmt: skip
    assert sorted(custom.values()) == sorted(forged)  # every column kept, none lost
    assert not any(name.startswith("_") for name in variables)


@pytest.mark.parametrize(
    ("amd", "machine_agent_id"), [(False, None), (True, None), (True, "voicemail")]
)
def test_outside_cf_only_the_gateways_own_names(amd: bool, machine_agent_id: str | None) -> None:
    """No tenant value reaches the dialplan outside CF_ variables: every other name is
    GATEWAY_* (values the gateway worked out: the validated number, the agents of the
    operator's configuration) or one of the ids the gateway made."""
    columns = ["PHONE_NUMBER", "TRANSFER_CONTEXT", "first name"]
    c = replace(campaign(columns), amd=amd, machine_agent_id=machine_agent_id)
    target = DialTarget(7, "+14155550100", ["+19995550000", "evil", "Ann"], 1)
    variables = originate_request(CONFIG, c, target, "att-1").variables
    other = {n for n in variables if not n.startswith(("CF_", "GATEWAY_"))}
    assert other == IDS
    gateway = {n: v for n, v in variables.items() if n.startswith("GATEWAY_")}
    assert gateway["GATEWAY_PHONE_NUMBER"] == "+14155550100"  # the number, not a column
    assert ("GATEWAY_AGENT_CONTEXT" in gateway) == amd
    assert ("GATEWAY_MACHINE_EXTEN" in gateway) == (machine_agent_id is not None)
    if machine_agent_id:
        assert gateway["GATEWAY_MACHINE_EXTEN"] == "machine"
    cells = {"+19995550000", "evil", "Ann"}
    assert sorted(n for n, v in variables.items() if v in cells) == [
        "CF_PHONE_NUMBER", "CF_TRANSFER_CONTEXT", "CF_first_name"]  # fmt: skip
