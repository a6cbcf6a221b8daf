// One campaign dialled for real: the sandbox Asterisk and SIPp (answering by the number's
// last digit), a daemon logged in to its AMI, the client watching the live events.

import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { Client } from "../src/index.js";
import { Daemon, sandboxAmi } from "../test-support/daemon.js";

// Last digit → what the far end does (tests/sandbox/README.md) → the contact's end.
const NUMBERS = {
  "+14155550100": ["completed", "answered"],
  "+14155550101": ["completed", "answered"],
  "+14155550105": ["failed", "busy"],
  "+14155550106": ["failed", "no_answer"],
  "+14155550107": ["failed", "rejected"],
  "+14155550108": ["failed", "invalid_number"],
};

let daemon;

before(async () => {
  daemon = await Daemon.create({ ami: sandboxAmi(), maxCalls: 10, cps: 10 });
});

after(() => daemon?.close());

it("dials a campaign through Asterisk and follows it live to its end", async () => {
  const client = new Client({ baseUrl: daemon.url, apiKey: daemon.key });
  const csv = `phone_number,first_name\n${Object.keys(NUMBERS).map((n, i) => `${n},p${i}`).join("\n")}\n`;
  const campaign = await client.campaigns.create({
    name: "dialled",
    contacts: Buffer.from(csv),
    maxConcurrentCalls: 6,
    ringTimeoutSeconds: 10,
  });
  const events = [];
  const reading = (async () => {
    const signal = AbortSignal.timeout(120_000);
    for await (const event of client.campaigns.streamEvents(campaign.id, { signal })) events.push(event);
  })();
  await daemon.waitForSubscribers(1);
  assert.equal((await client.campaigns.start(campaign.id)).status, "running");
  await reading;

  assert.deepEqual(events.at(-1), { id: null, event: "end", data: { campaign_id: campaign.id, status: "completed" } });
  assert.ok(events.some((e) => e.event === "metrics" && e.data.status === "running"), "live metrics");
  const ids = events.filter((e) => e.id !== null).map((e) => e.id);
  assert.deepEqual(ids, await daemon.storedEventIds(campaign.id)); // every transition, once, in order

  const paths = {};
  for (const e of events.filter((e) => e.event === "contact")) {
    (paths[e.data.phone_number] ??= []).push(`${e.data.from}>${e.data.to}`);
  }
  assert.deepEqual(paths["+14155550100"], ["pending>originated", "originated>connected", "connected>completed"]);
  assert.deepEqual(paths["+14155550105"].at(-1), "originated>failed");

  const { contacts, total } = await client.campaigns.listContacts(campaign.id);
  assert.equal(total, 6);
  const outcomes = Object.fromEntries(contacts.map((c) => [c.phone_number, [c.status, c.last_outcome]]));
  assert.deepEqual(outcomes, NUMBERS);
  const answered = contacts.find((c) => c.phone_number === "+14155550100");
  assert.ok(answered.talk_seconds >= 1, `talk ${answered.talk_seconds} s`);
  assert.equal(String(contacts.find((c) => c.phone_number === "+14155550105").sip_code), "486");
  const detail = await client.campaigns.getContact(campaign.id, answered.id);
  assert.equal(detail.attempts.length, 1);
  assert.deepEqual([detail.attempts[0].number, detail.attempts[0].outcome], [1, "answered"]);
  assert.ok(detail.attempts[0].started_at && detail.attempts[0].ended_at);
  assert.ok(detail.decisions.some((d) => d.decision === "dialled"), JSON.stringify(detail.decisions));
  const done = await client.campaigns.get(campaign.id);
  assert.deepEqual([done.status, done.counts.completed, done.counts.failed], ["completed", 2, 4]);
  assert.equal((await client.campaigns.listContacts(campaign.id, { status: "failed" })).total, 4);
});
