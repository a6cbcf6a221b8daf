"""Answering-machine detection, the pure rules: the form fields, where an Originate goes,
what a verdict says of a contact, and what a machine hung up on does to it."""

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.config import Agent
from gateway.dialer.calls import originate_request
from gateway.domain.amd import Destination, answered_by, route
from gateway.domain.contacts import RETRYABLE, Outcome, parse_retry_on, settle
from gateway.domain.model import Campaign
from gateway.domain.model import CampaignStatus as S
from gateway.domain.model import ContactStatus as C
from gateway.domain.settings import Choices, FieldError, validate
from gateway.store.dialing import DialTarget
from tests.helpers import make_config

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
CHOICES = Choices(frozenset({"ivr", "vm"}), frozenset({"main"}), "ivr", "main")


# -- the form ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "amd", "machine_agent"),
    [
        ({}, False, None),
        ({"amd": "off"}, False, None),
        ({"amd": "on"}, True, None),
        ({"amd": " on "}, True, None),
        ({"amd": "on", "machine_agent_id": "vm"}, True, "vm"),
        ({"machine_agent_id": "vm"}, False, "vm"),  # kept; used once amd is on
    ],
)
def test_amd_fields(form: dict[str, str], amd: bool, machine_agent: str | None) -> None:
    settings = validate({"name": "x", **form}, CHOICES, NOW)
    assert (settings.amd, settings.machine_agent_id) == (amd, machine_agent)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amd", "yes"),
        ("amd", "ON"),
        ("amd", "true"),
        ("amd", "1"),
        ("amd", ""),
        ("machine_agent_id", "nobody"),
        ("machine_agent_id", "vm\r\nAction: Command"),
    ],
)
def test_bad_amd_field_is_named(field: str, value: str) -> None:
    with pytest.raises(FieldError) as exc:
        validate({"name": "x", field: value}, CHOICES, NOW)
    assert exc.value.field == field


def test_machine_is_a_retry_on_value_but_not_a_default() -> None:
    assert parse_retry_on("busy,machine") == {"busy", "machine"}
    assert Outcome.MACHINE not in RETRYABLE
    assert "machine" not in validate({"name": "x"}, CHOICES, NOW).retry_on


# -- the verdict ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("HUMAN", "human"),
        ("MACHINE", "machine"),
        ("NOTSURE", "unknown"),
        ("HANGUP", "unknown"),
        ("machine", "machine"),
        ("", "unknown"),
        ("SOMETHING", "unknown"),
    ],
)
def test_answered_by(status: str, expected: str) -> None:
    assert answered_by(status) == expected


# -- where the call goes ----------------------------------------------------------------

AGENT = Destination("campaign", "s", 1)
MACHINE = Destination("campaign", "machine", 1)


def test_amd_off_goes_straight_to_the_agent_with_no_amd_variable() -> None:
    where = route(AGENT, False, MACHINE)
    assert (where.context, where.extension, where.priority) == ("campaign", "s", 1)
    assert where.variables == {}


def test_amd_on_goes_to_gateway_amd_with_both_agents() -> None:
    where = route(AGENT, True, MACHINE)
    assert (where.context, where.extension, where.priority) == ("gateway-amd", "s", 1)
    assert where.variables == {
        "GATEWAY_AGENT_CONTEXT": "campaign",
        "GATEWAY_AGENT_EXTEN": "s",
        "GATEWAY_AGENT_PRIORITY": "1",
        "GATEWAY_MACHINE_CONTEXT": "campaign",
        "GATEWAY_MACHINE_EXTEN": "machine",
        "GATEWAY_MACHINE_PRIORITY": "1",
    }


def test_amd_on_without_a_machine_agent_sets_none() -> None:
    where = route(AGENT, True, None)
    assert where.context == "gateway-amd"
    assert not any(name.startswith("GATEWAY_MACHINE") for name in where.variables)


def campaign(**fields: object) -> Campaign:
    base = Campaign(
        pk=1, id="c1", tenant_id=1, name="x", status=S.RUNNING, agent_id="ivr",
        phone_number_id="main", max_concurrent_calls=5, retries_per_contact=0,
        retry_delay_seconds=300, max_calls_per_second=None, ring_timeout_seconds=30,
        timezone="UTC", window_start=None, window_end=None, scheduled_at=None,
        created_at="", started_at=None, completed_at=None, created_by="",
        custom_field_names=["GATEWAY_AGENT_CONTEXT"],
    )  # fmt: skip
    return replace(base, **fields)


def test_the_originate_of_an_amd_campaign(tmp_path: Path) -> None:
    agents = (Agent("ivr", "campaign"), Agent("vm", "campaign", "machine", 1))
    config = make_config(tmp_path, agents=agents)
    # A CSV column named like a gateway variable stays a CF_ variable.
    target = DialTarget(7, "+12025551000", ["evil"], 1)
    plain = originate_request(config, campaign(), target, "a-1")
    assert (plain.context, plain.extension) == ("campaign", "s")
    # AMD off: no AMD variable; of the GATEWAY_ names only the number.
    assert {n for n in plain.variables if n.startswith("GATEWAY_")} == {"GATEWAY_PHONE_NUMBER"}
    amd = originate_request(config, campaign(amd=True, machine_agent_id="vm"), target, "a-2")
    assert (amd.context, amd.extension, amd.priority) == ("gateway-amd", "s", 1)
    assert amd.variables["GATEWAY_AGENT_CONTEXT"] == "campaign"
    assert amd.variables["GATEWAY_MACHINE_EXTEN"] == "machine"
    assert amd.variables["CF_GATEWAY_AGENT_CONTEXT"] == "evil"
    assert amd.variables["ATTEMPT_ID"] == "a-2"


# -- what a machine does to the contact --------------------------------------------------


@pytest.mark.parametrize(
    ("machine", "made", "retries", "retry_on", "status", "to", "outcome"),
    [
        # Hung up on: failed, outcome machine, not retried by default.
        (True, 1, 2, RETRYABLE, S.RUNNING, C.FAILED, Outcome.MACHINE),
        # Retried when retry_on names it, while attempts are left.
        (True, 1, 2, RETRYABLE | {"machine"}, S.RUNNING, C.PENDING, Outcome.MACHINE),
        (True, 3, 2, RETRYABLE | {"machine"}, S.RUNNING, C.FAILED, Outcome.MACHINE),
        (True, 1, 2, RETRYABLE | {"machine"}, S.STOPPED, C.FAILED, Outcome.MACHINE),
        # A person, or a machine handed to the machine agent: a completed call.
        (False, 1, 2, RETRYABLE | {"machine"}, S.RUNNING, C.COMPLETED, Outcome.ANSWERED),
    ],
)
def test_settle_a_machine(machine, made, retries, retry_on, status, to, outcome) -> None:  # type: ignore[no-untyped-def]
    result = settle(True, 100.0, 103.0, 16, "", 4, made, retries, 60, status,
                    retry_on=retry_on, machine_hung_up=machine)  # fmt: skip
    assert (result.contact_to, result.outcome) == (to, outcome)
    if machine:
        assert result.talk_seconds is None
        assert result.decision in ("retry_scheduled", "not_retried")
        assert result.next_attempt_at == (163.0 if to is C.PENDING else 0.0)
    else:
        assert result.talk_seconds == 3.0
