"""A contact whose Originate cannot be built or sent is settled at once, frees its place,
and never stalls the dispatcher (issue 13, item 2)."""

from __future__ import annotations

import pytest

from gateway.dialer import reconcile
from gateway.http.keys import READINESS, STORE
from tests.helpers import new_tenant
from tests.unit.dialer.harness import Env, command, contacts, create, wait_status
from tests.unit.dialer.support import number


async def test_an_originate_that_cannot_be_built_or_sent_fails_its_contact_at_once(
    env: Env,
) -> None:
    fake = env.fake
    client = await env.gateway()
    api = await new_tenant(client, "acme", 10, 50)
    phones = [number(i, 0) for i in range(4)]
    rows = "".join(f"{p},ok\n" for p in phones)
    long_one = (await api.create_ok("phone_number,note\n" + rows, max_concurrent_calls=1,
                                    retries_per_contact=2))["id"]  # fmt: skip
    gone_agent = (await api.create_ok("phone_number\n" + "".join(
        f"{number(i, 0)}\n" for i in range(10, 13)), retries_per_contact=2))["id"]  # fmt: skip
    db = client.app[STORE].db
    # What the checks at upload now refuse, as an older version stored it: a value of
    # 600 × é (1,200 bytes, over AMI's 1,024-byte line); and an agent the administrator
    # has since removed from the configuration.
    await db.execute(
        "UPDATE contacts SET custom_fields = ? WHERE phone_number = ?",
        ('["' + "é" * 600 + '"]', phones[1]),
    )
    await db.execute("UPDATE campaigns SET agent_id = 'gone' WHERE id = ?", (gone_agent,))
    await command(api, long_one, "start")
    await command(api, gone_agent, "start")

    # One place (max_concurrent_calls=1): the bad contact gave it back at once.
    body = await wait_status(api, long_one, "completed")
    assert (body["counts"]["completed"], body["counts"]["failed"]) == (3, 1)
    bad = (await contacts(api, long_one))[phones[1]]
    assert (bad["status"], bad["last_outcome"], bad["attempts"]) == ("failed", "failed", 1)
    assert "not dialable" in bad["hangup_cause_text"]
    assert "1024" in bad["hangup_cause_text"]  # says why: the AMI line limit

    body = await wait_status(api, gone_agent, "completed")
    assert body["counts"]["failed"] == 3
    for contact in (await contacts(api, gone_agent)).values():
        assert (contact["last_outcome"], contact["attempts"]) == ("failed", 1)
        assert "not dialable" in contact["hangup_cause_text"]
        assert "agent 'gone' is not in the configuration" in contact["hangup_cause_text"]
    dialled = sorted(a.phone for a in fake.originates)
    assert dialled == sorted(p for p in phones if p != phones[1])


async def test_an_originate_never_answered_on_a_live_connection_is_judged_not_left(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No response to one Originate while the connection stays up: it may have reached
    Asterisk, so it is never sent again; once a call it started would have a channel and
    Asterisk lists none, it is settled as lost and gives its place back."""
    monkeypatch.setattr(reconcile, "UNCONFIRMED_GRACE", -4.5)  # judged 0.5 s after
    fake = env.fake
    silent = number(1, 0)
    fake.unanswered_numbers.add(silent)
    client = await env.gateway()
    client.app[READINESS].__self__._nodes["default"].telephony.client.action_timeout = 1.0
    api = await new_tenant(client, "acme", 10, 50)
    phones = [silent, number(2, 0), number(3, 0)]
    cid = await create(api, phones, max_concurrent_calls=1, retries_per_contact=2,
                       ring_timeout_seconds=5)  # fmt: skip
    await command(api, cid, "start")
    body = await wait_status(api, cid, "completed")
    assert (body["counts"]["completed"], body["counts"]["failed"]) == (2, 1)
    lost = (await contacts(api, cid))[silent]
    assert (lost["last_outcome"], lost["attempts"]) == ("lost", 1)
    assert "never answered the Originate" in lost["hangup_cause_text"]
    assert [a.phone for a in fake.originates].count(silent) == 1
    assert fake.log.count((1, "coreshowchannels")) >= 2  # it looked before judging
