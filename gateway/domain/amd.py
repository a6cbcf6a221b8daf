"""Answering-machine detection (AMD): where a campaign's calls go, and what the verdict of
Asterisk's AMD() means for a contact. Pure rules; the dialplan is asterisk-config's
[gateway-amd] context, the verdict arrives as the GatewayAMD UserEvent."""

from __future__ import annotations

from dataclasses import dataclass

AMD_CONTEXT = "gateway-amd"  # asterisk-config/extensions.conf
AMD_EXTENSION = "s"

# AMDSTATUS -> answered_by. NOTSURE and HANGUP are `unknown`, and so is an answered call
# that ended before any verdict (the far end hung up before AMD() began).
ANSWERED_BY = {"HUMAN": "human", "MACHINE": "machine", "NOTSURE": "unknown", "HANGUP": "unknown"}
UNKNOWN = "unknown"
RESULTS = ("human", "machine", "unknown")  # the `result` label of gateway_amd_results_total


def answered_by(amd_status: str) -> str:
    """What a contact says of an AMDSTATUS (anything unexpected is `unknown`)."""
    return ANSWERED_BY.get(amd_status.strip().upper(), UNKNOWN)


@dataclass(frozen=True)
class Destination:
    context: str
    extension: str
    priority: int


@dataclass(frozen=True)
class Route:
    """Where an Originate sends the answered call, and the gateway's own variables that
    tell the [gateway-amd] context where to go next."""

    context: str
    extension: str
    priority: int
    variables: dict[str, str]


def route(agent: Destination, amd: bool, machine_agent: Destination | None) -> Route:
    """AMD off: straight to the agent, no AMD variable at all. On: to [gateway-amd], with
    the agent (for HUMAN and NOTSURE) and the machine agent (for MACHINE; none: the
    dialplan hangs up) as GATEWAY_* variables. Both destinations are the operator's
    configuration, never a tenant's value."""
    if not amd:
        return Route(agent.context, agent.extension, agent.priority, {})
    variables = {
        "GATEWAY_AGENT_CONTEXT": agent.context,
        "GATEWAY_AGENT_EXTEN": agent.extension,
        "GATEWAY_AGENT_PRIORITY": str(agent.priority),
    }
    if machine_agent is not None:
        variables |= {
            "GATEWAY_MACHINE_CONTEXT": machine_agent.context,
            "GATEWAY_MACHINE_EXTEN": machine_agent.extension,
            "GATEWAY_MACHINE_PRIORITY": str(machine_agent.priority),
        }
    return Route(AMD_CONTEXT, AMD_EXTENSION, 1, variables)
