"""Python client for the campaign gateway's HTTP API.

    from gateway.client import Client

    with Client("http://127.0.0.1:8080", api_key) as client:
        with open("contacts.csv", "rb") as csv:
            campaign = client.campaigns.create("Spring reminders", contacts=csv)
        client.campaigns.start(campaign["id"])
        client.dnc.add(["+14155550100"], reason="asked not to be called")
        for event in client.campaigns.stream_events(campaign["id"]):
            print(event.event, event.data)

`AsyncClient` is the implementation (aiohttp); `Client` is its blocking twin, which runs the
same code on a private event loop in a background thread. Campaigns and contacts come back
as the server's JSON (plain dicts). Errors raise `GatewayError` subclasses carrying the HTTP
`status` and the server's `message`.
"""

from gateway.client.aio import (
    DEFAULT_TIMEOUT,
    MAX_RECONNECT_DELAY,
    STREAM_READ_TIMEOUT,
    AsyncCampaigns,
    AsyncClient,
    Contacts,
)
from gateway.client.dnc import AsyncDnc
from gateway.client.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    GatewayConnectionError,
    GatewayError,
    NotFoundError,
    ServerError,
    error_for,
)
from gateway.client.sse import Event, SSEParser
from gateway.client.sync import Campaigns, Client, Dnc

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_RECONNECT_DELAY",
    "STREAM_READ_TIMEOUT",
    "AsyncCampaigns",
    "AsyncClient",
    "AsyncDnc",
    "AuthenticationError",
    "BadRequestError",
    "Campaigns",
    "Client",
    "ConflictError",
    "Contacts",
    "Dnc",
    "Event",
    "GatewayConnectionError",
    "GatewayError",
    "NotFoundError",
    "SSEParser",
    "ServerError",
    "error_for",
]
