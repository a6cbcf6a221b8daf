"""The Originate's variables: CSV columns only as CF_<name>, never the gateway's own."""

from gateway.config import Agent, Config, PhoneNumber
from gateway.dialer.calls import originate_request
from gateway.domain.model import Campaign, CampaignStatus
from gateway.store.dialing import DialTarget

OWN = ("PHONE_NUMBER", "CONTACT_ID", "CAMPAIGN_ID", "ATTEMPT_ID")
# Every gateway variable as a column, with and without Asterisk's inheritance prefixes,
# plus names Asterisk itself acts on.
COLUMNS = [
    *OWN,
    *(f"_{name}" for name in OWN),
    *(f"__{name}" for name in OWN),
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


def test_no_column_shadows_a_gateway_variable() -> None:
    config = Config(
        agents=(Agent("ivr", "campaign"),),
        phone_numbers=(PhoneNumber("main", "+15551230000", "PJSIP/{number}@carrier"),),
    )
    forged = [f"forged {i}" for i in range(len(COLUMNS))]
    target = DialTarget(7, "+14155550100", forged, 1)
    request = originate_request(config, campaign(COLUMNS), target, "att-1")
    variables = request.variables
    own = {"PHONE_NUMBER": "+14155550100", "CONTACT_ID": "7", "CAMPAIGN_ID": "camp-1",
           "ATTEMPT_ID": "att-1"}  # fmt: skip
    assert {name: variables[name] for name in own} == own
    custom = {name: value for name, value in variables.items() if name not in own}
    assert set(custom) == {
        "CF_PHONE_NUMBER", "CF_CONTACT_ID", "CF_CAMPAIGN_ID", "CF_ATTEMPT_ID",
        "CF__PHONE_NUMBER", "CF__CONTACT_ID", "CF__CAMPAIGN_ID", "CF__ATTEMPT_ID",
        "CF___PHONE_NUMBER", "CF___CONTACT_ID", "CF___CAMPAIGN_ID", "CF___ATTEMPT_ID",
        "CF_TRANSFER_CONTEXT", "CF_CAMPAIGN_MAX_CALL_SECONDS", "CF_first_name", "CF_2nd",
    }  # fmt: skip
    assert sorted(custom.values()) == sorted(forged)  # every column kept, none lost
    assert not any(name.startswith("_") for name in variables)
