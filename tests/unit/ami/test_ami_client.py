from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from structlog.testing import capture_logs

from gateway.ami.client import (
    AmiActionTimeout,
    AmiClient,
    AmiDisconnected,
    AmiNotConnected,
    AmiState,
    redact,
)
from gateway.ami.protocol import Message, UnsafeHeaderValue
from tests.fakes.ami_server import FakeAmiServer
from tests.unit.ami.support import until

MakeClient = Callable[..., AmiClient]


async def logged_in(client: AmiClient) -> AmiClient:
    await client.start()
    async with asyncio.timeout(2):
        await client.wait_logged_in()
    return client


async def test_login_and_state(server: FakeAmiServer, make_client: MakeClient) -> None:
    client = make_client()
    states: list[AmiState] = []
    client.on_state_change(states.append)
    await logged_in(client)
    assert client.state == AmiState(connected=True, logged_in=True, last_error="", reconnects=0)
    assert states[-1].logged_in and states[0].connected and not states[0].logged_in
    [login] = server.actions_named("Login")
    assert login["Username"] == server.username
    assert login["Secret"] == server.secret
    assert login["Events"] == "on"
    assert login["ActionID"]


async def test_send_action_matches_by_action_id(
    server: FakeAmiServer, make_client: MakeClient
) -> None:
    client = await logged_in(make_client())
    pongs = await asyncio.gather(
        *(client.send_action({"Action": "Ping", "ActionID": f"p{i}"}) for i in range(20))
    )
    assert [p["ActionID"] for p in pongs] == [f"p{i}" for i in range(20)]
    assert all(p["Ping"] == "Pong" for p in pongs)
    error = await client.send_action({"Action": "NoSuchThing"})
    assert error.response == "Error"


async def test_unsafe_action_is_refused_before_sending(
    server: FakeAmiServer, make_client: MakeClient
) -> None:
    client = await logged_in(make_client())
    before = len(server.actions)
    with pytest.raises(UnsafeHeaderValue):
        await client.send_action({"Action": "Originate", "Channel": "PJSIP/1\r\nAction: Hangup"})
    await client.send_action({"Action": "Ping"})
    assert [a["Action"] for a in server.actions[before:]] == ["Ping"]


async def test_not_logged_in_raises_without_sending(server: FakeAmiServer) -> None:
    client = AmiClient("127.0.0.1", server.port, "gateway", "x")
    with pytest.raises(AmiNotConnected):
        await client.send_action({"Action": "Ping"})
    with pytest.raises(UnsafeHeaderValue):  # unsafe input is refused first
        await client.send_action({"Action": "Ping", "X": "a\nb"})
    assert server.connections == 0
    await client.close()


async def test_bad_credentials_logged_once_and_retried_slowly(
    server: FakeAmiServer, make_client: MakeClient
) -> None:
    client = make_client(secret="wrong-secret-value", auth_retry_interval=0.15)
    states: list[AmiState] = []
    client.on_state_change(states.append)
    with capture_logs() as logs:
        await client.start()
        await until(lambda: len(server.actions_named("Login")) >= 3, within=3)
        started = time.monotonic()
        await until(lambda: len(server.actions_named("Login")) >= 4, within=3)
        gap = time.monotonic() - started
    assert client.state.last_error == "authentication failed"
    assert not client.state.logged_in
    assert client.state.reconnects >= 3
    assert gap >= 0.1  # the auth retry interval, not the 10 ms backoff
    auth_logs = [e for e in logs if e["event"] == "ami.auth_failed"]
    assert len(auth_logs) == 1
    assert auth_logs[0]["log_level"] == "error"
    assert auth_logs[0]["error"] == "authentication failed"
    assert "wrong-secret-value" not in repr(logs)
    assert "wrong-secret-value" not in repr(client)
    assert any(s.last_error == "authentication failed" for s in states)


async def test_secret_never_logged_even_at_debug(
    server: FakeAmiServer, make_client: MakeClient
) -> None:
    with capture_logs() as logs:
        client = await logged_in(make_client())
        await client.send_action({"Action": "Ping"})
        await server.drop()
        await until(lambda: client.state.logged_in)
    assert logs
    assert server.secret not in repr(logs)
    assert server.secret not in repr(client)
    assert server.secret not in repr(client.state)


async def test_connection_refused_is_an_error_state_and_retried(make_client: MakeClient) -> None:
    client = AmiClient("127.0.0.1", 1, "gateway", "x", backoff_initial=0.01, backoff_max=0.02)
    with capture_logs() as logs:
        await client.start()
        await until(lambda: client.state.reconnects >= 3)
    await client.close()
    assert not client.state.connected
    assert client.state.last_error
    assert len([e for e in logs if e["event"] == "ami.error"]) == 1


async def test_ping_timeout_detects_half_open_connection(
    server: FakeAmiServer, make_client: MakeClient
) -> None:
    client = await logged_in(make_client(ping_interval=0.1, ping_timeout=0.1))
    await until(lambda: len(server.actions_named("Ping")) >= 1)  # pings are answered
    server.silent = True
    silent_at = time.monotonic()
    await until(lambda: not client.state.logged_in, within=1)
    assert time.monotonic() - silent_at < 0.1 + 0.1 + 0.3  # interval + timeout + slack
    assert "Ping" in client.state.last_error
    server.silent = False
    await until(lambda: client.state.logged_in)  # and it comes back
    assert client.state.reconnects == 1
    assert server.logins == 2


async def test_reconnect_after_server_drop(server: FakeAmiServer, make_client: MakeClient) -> None:
    client = await logged_in(make_client())
    events: list[Message] = []
    client.add_event_handler(events.append)
    await server.drop()
    await until(lambda: not client.state.logged_in)
    await until(lambda: client.state.logged_in)
    assert server.logins == 2
    assert client.state.reconnects == 1
    await server.send_event({"Event": "Hangup", "Uniqueid": "x"})
    await until(lambda: any(e.event == "Hangup" for e in events))


async def test_pending_originate_fails_on_disconnect_and_is_never_resent(
    server: FakeAmiServer, make_client: MakeClient
) -> None:
    server.swallow = {"Originate"}
    client = await logged_in(make_client(action_timeout=5))
    pending = asyncio.create_task(
        client.send_action({"Action": "Originate", "ActionID": "att-1", "Channel": "PJSIP/1"})
    )
    await until(lambda: len(server.actions_named("Originate")) == 1)
    await server.drop()
    with pytest.raises(AmiDisconnected):
        await pending
    assert not client.state.logged_in  # known at once, not a moment later
    await until(lambda: client.state.logged_in)
    await client.send_action({"Action": "Ping"})
    await asyncio.sleep(0.05)
    assert len(server.actions_named("Originate")) == 1


async def test_action_timeout(server: FakeAmiServer, make_client: MakeClient) -> None:
    server.swallow = {"Originate"}
    client = await logged_in(make_client(ping_interval=10))
    with pytest.raises(AmiActionTimeout):
        await client.send_action({"Action": "Originate", "ActionID": "a"}, response_timeout=0.05)
    assert client.state.logged_in  # a slow action alone does not drop the connection
    await client.send_action({"Action": "Ping"})


async def test_duplicate_pending_action_id_refused(
    server: FakeAmiServer, make_client: MakeClient
) -> None:
    server.swallow = {"Originate"}
    client = await logged_in(make_client())
    first = asyncio.create_task(client.send_action({"Action": "Originate", "ActionID": "same"}))
    await until(lambda: len(server.actions_named("Originate")) == 1)
    with pytest.raises(ValueError):
        await client.send_action({"Action": "Originate", "ActionID": "same"})
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_event_list_collection(server: FakeAmiServer, make_client: MakeClient) -> None:
    server.channels = [
        {"Channel": "PJSIP/carrier-1", "Uniqueid": "att-1", "ChannelState": "6"},
        {"Channel": "PJSIP/carrier-2", "Uniqueid": "att-2", "ChannelState": "5"},
    ]
    client = await logged_in(make_client())
    seen: list[Message] = []
    client.add_event_handler(seen.append)
    response = await client.send_action({"Action": "CoreShowChannels"})
    assert response["EventList"] == "start"
    assert [e.event for e in response.events] == [
        "CoreShowChannel",
        "CoreShowChannel",
        "CoreShowChannelsComplete",
    ]
    assert [e.get("Uniqueid") for e in response.events[:2]] == ["att-1", "att-2"]
    assert [e.event for e in seen if e.event != "FullyBooted"] == [
        e.event for e in response.events
    ]  # list events reach the handlers too


async def test_events_with_pending_action_id_reach_handlers(
    server: FakeAmiServer, make_client: MakeClient
) -> None:
    """panoramisk's fault: an OriginateResponse went to the Originate, not to handlers."""
    server.originate_script = lambda action: [
        {"Event": "OriginateResponse", "ActionID": action["ActionID"], "Response": "Success"}
        | {"Uniqueid": action["ActionID"], "Reason": "4"}
    ]
    client = await logged_in(make_client())
    seen: list[Message] = []
    client.add_event_handler(seen.append)
    response = await client.send_action({"Action": "Originate", "ActionID": "att-9"})
    assert response.response == "Success"
    await until(lambda: any(e.event == "OriginateResponse" for e in seen))


async def test_failing_handler_does_not_stop_the_reader(
    server: FakeAmiServer, make_client: MakeClient
) -> None:
    client = await logged_in(make_client())
    seen: list[Message] = []

    def broken(message: Message) -> None:
        raise RuntimeError("boom")

    client.add_event_handler(broken)
    client.add_event_handler(seen.append)
    with capture_logs():
        await server.send_event({"Event": "A"})
        await server.send_event({"Event": "B"})
        await until(lambda: [e.event for e in seen] == ["A", "B"])
    assert client.state.logged_in


async def test_close_fails_pending_and_stops(
    server: FakeAmiServer, make_client: MakeClient
) -> None:
    server.swallow = {"Originate"}
    client = await logged_in(make_client())
    pending = asyncio.create_task(client.send_action({"Action": "Originate", "ActionID": "z"}))
    await until(lambda: len(server.actions_named("Originate")) == 1)
    await client.close()
    with pytest.raises(AmiDisconnected):
        await pending
    assert client.state == AmiState(connected=False, logged_in=False, reconnects=0)
    logins = server.logins
    await asyncio.sleep(0.05)
    assert server.logins == logins  # no reconnect after close
    with pytest.raises(AmiNotConnected):
        await client.send_action({"Action": "Ping"})


async def test_close_before_start_and_twice(server: FakeAmiServer) -> None:
    client = AmiClient("127.0.0.1", server.port, "gateway", "x")
    await client.close()
    await client.close()
    await client.start()  # no-op after close
    assert server.connections == 0


async def test_stuck_writer_times_out_and_drops_the_connection(
    server: FakeAmiServer, make_client: MakeClient
) -> None:
    client = await logged_in(make_client(write_timeout=0.1, ping_interval=10))
    server.stop_reading()
    big = {"Action": "UserEvent", "Variable": ["x" * 1000] * 100}  # ~100 kB an action
    with capture_logs() as logs:
        results = await asyncio.gather(
            *(client.send_action(big, response_timeout=5) for _ in range(200)),
            return_exceptions=True,
        )
    assert results and all(isinstance(r, AmiDisconnected) for r in results)
    assert any(e["event"] == "ami.write_timeout" for e in logs)
    await until(lambda: client.state.logged_in)  # reconnected on a fresh connection


def test_redact_masks_the_secret() -> None:
    login = {"Action": "Login", "Username": "gw", "Secret": "hunter2"}
    assert redact(login) == {"Action": "Login", "Username": "gw", "Secret": "***"}


async def test_login_log_is_masked(server: FakeAmiServer, make_client: MakeClient) -> None:
    with capture_logs() as logs:
        await logged_in(make_client())
    [login] = [e for e in logs if e["event"] == "ami.login"]
    assert login["action"]["Secret"] == "***"
    assert server.secret not in repr(logs)
