"""Building one Originate from a campaign, a contact and the administrator's config."""

from __future__ import annotations

from gateway.config import Config
from gateway.domain.amd import Destination, route
from gateway.domain.calls import OriginateRequest
from gateway.domain.model import Campaign
from gateway.domain.variables import custom_variable
from gateway.store.dialing import DialTarget


def originate_request(
    config: Config, campaign: Campaign, target: DialTarget, attempt_id: str
) -> OriginateRequest:
    """Every value here was validated before: numbers are E.164, CSV values carry no
    control characters and fit their AMI line (gateway.domain.variables), dial strings and
    caller ids come from the administrator's configuration. The AMI encoder refuses
    control characters and over-long lines again, as the last line of defence.

    A CSV column is only ever `CF_<name>`, so it can neither set a variable Asterisk or
    the dialplan acts on nor shadow the gateway's own variables below. Those are the ids
    the gateway made (CONTACT_ID, CAMPAIGN_ID, ATTEMPT_ID) and GATEWAY_* values it worked
    out itself: GATEWAY_PHONE_NUMBER is the contact's number as the gateway validated and
    normalised it (E.164), never a CSV cell as written.

    With AMD on, the call goes to the [gateway-amd] context, told where the agent and the
    machine agent are by GATEWAY_* variables (gateway.domain.amd.route)."""
    agent = config.agent(campaign.agent_id)
    machine = config.agent(campaign.machine_agent_id) if campaign.machine_agent_id else None
    number = config.phone_number(campaign.phone_number_id)
    variables = {
        custom_variable(name): value
        for name, value in zip(campaign.custom_field_names, target.custom_values, strict=False)
    }
    variables.update(
        GATEWAY_PHONE_NUMBER=target.phone_number,
        CONTACT_ID=str(target.contact_id),
        CAMPAIGN_ID=campaign.id,
        ATTEMPT_ID=attempt_id,
    )
    where = route(
        Destination(agent.context, agent.extension, agent.priority),
        campaign.amd,
        Destination(machine.context, machine.extension, machine.priority) if machine else None,
    )
    variables.update(where.variables)
    return OriginateRequest(
        attempt_id=attempt_id,
        channel=number.dial_string.replace("{number}", target.phone_number),
        caller_id=number.caller_id,
        context=where.context,
        extension=where.extension,
        priority=where.priority,
        timeout_ms=campaign.ring_timeout_seconds * 1000,
        variables=variables,
    )
