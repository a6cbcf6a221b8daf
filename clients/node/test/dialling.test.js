// One campaign dialled for real: the sandbox Asterisk and SIPp (answering by the number's
// last digit), a daemon logged in to its AMI, the client watching the live events.

import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { Client } from "../src/index.js";
import { Daemon, sandboxAmi, waitFor } from "../test-support/daemon.js";
import { eventMismatches, mismatches } from "../test-support/declared.js";

// Last digit → what the far end does (tests/sandbox/README.md) → the contact's end.
const NUMBERS = {
  "+14155550100": ["completed", "answered"],
  "+14155550101": ["completed", "answered"],
  "+14155550105": ["failed", "busy"],
  "+14155550106": ["failed", "no_answer"],
  "+14155550107": ["failed", "rejected"],
  "+14155550108": ["failed", "invalid_number"],
};

// tests/sandbox/README.md: greetings for answering-machine detection, and a person who
// presses 9 (the default agent's opt-out).
const PERSON = "+12025551000"; // "Hello?": HUMAN
const MACHINE = "+12025551101"; // a voicemail greeting: MACHINE
const OPTS_OUT = "+442079460001";

let daemon;

/** Every event of a campaign, from the first, as a stream that ends with `end` gives them. */
async function history(client, id, timeout = 60_000) {
  const events = [];
  for await (const event of client.campaigns.streamEvents(id, { lastEventId: 0, signal: AbortSignal.timeout(timeout) })) {
    events.push(event);
  }
  assert.equal(events.at(-1)?.event, "end", `no end within ${timeout} ms`);
  return events;
}

/** Each event, contact and attempt as index.d.ts declares it. */
async function assertDeclared(client, id, events) {
  for (const event of events) assert.deepEqual(eventMismatches(event), [], JSON.stringify(event));
  const { contacts } = await client.campaigns.listContacts(id);
  assert.deepEqual(mismatches({ contacts, total: contacts.length }, "ContactList"), []);
  for (const contact of contacts) {
    assert.deepEqual(mismatches(await client.campaigns.getContact(id, contact.id), "ContactDetail"), []);
  }
  return contacts;
}

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
  await assertDeclared(client, campaign.id, events);
});

it("answering-machine detection and an opt-out, as the events and contacts say them", async () => {
  const client = new Client({ baseUrl: daemon.url, apiKey: daemon.key });
  const amd = await client.campaigns.create({
    name: "amd",
    contacts: Buffer.from(`phone_number\n${PERSON}\n${MACHINE}\n`),
    maxConcurrentCalls: 2,
    amd: true, // no machineAgentId: a machine is hung up on
  });
  assert.deepEqual([amd.amd, amd.machine_agent_id], ["on", null]);
  const opt = await client.campaigns.create({ name: "opt-out", contacts: Buffer.from(`phone_number\n${OPTS_OUT}\n`) });
  const live = [amd, opt].map(({ id }) => history(client, id));
  await daemon.waitForSubscribers(2);
  await Promise.all([amd, opt].map(({ id }) => client.campaigns.start(id)));
  const [amdEvents] = await Promise.all(live);

  const verdicts = Object.fromEntries(amdEvents.filter((e) => e.event === "amd").map((e) => [e.data.phone_number, e.data]));
  assert.equal(verdicts[PERSON]?.answered_by, "human", JSON.stringify(verdicts));
  assert.match(verdicts[PERSON].amd_cause, /^HUMAN-/);
  assert.equal(verdicts[MACHINE]?.answered_by, "machine", JSON.stringify(verdicts));
  const hungUp = amdEvents.find((e) => e.event === "contact" && e.data.phone_number === MACHINE && e.data.from === "connected");
  assert.deepEqual([hungUp.data.to, hungUp.data.outcome, hungUp.data.answered_by], ["failed", "machine", "machine"]);
  const last = amdEvents.filter((e) => e.event === "metrics").at(-1);
  assert.equal(last.data.machine_rate, 0.5);
  const amdContacts = await assertDeclared(client, amd.id, amdEvents);
  const got = Object.fromEntries(amdContacts.map((c) => [c.phone_number, [c.status, c.last_outcome, c.answered_by]]));
  assert.deepEqual(got, { [PERSON]: ["completed", "answered", "human"], [MACHINE]: ["failed", "machine", "machine"] });
  const attempt = (await client.campaigns.getContact(amd.id, amdContacts.find((c) => c.phone_number === MACHINE).id)).attempts[0];
  if ("answered_by" in attempt) assert.equal(attempt.answered_by, "machine"); // a gateway that reports it per attempt

  // The opt-out may be recorded after the call's end: the replayed history has it.
  const optEvents = await waitFor(async () => {
    const events = await history(client, opt.id);
    return events.some((e) => e.event === "opt_out") && events;
  }, { timeout: 15_000, every: 500, what: "an opt_out event" });
  const [optOut] = optEvents.filter((e) => e.event === "opt_out");
  assert.equal(optOut.data.phone_number, OPTS_OUT);
  assert.equal(typeof optOut.id, "number");
  const [opted] = await assertDeclared(client, opt.id, optEvents);
  assert.deepEqual([opted.status, opted.opted_out, optOut.data.contact_id], ["completed", true, opted.id]);
  assert.match((await client.dnc.list({ phoneNumber: OPTS_OUT })).numbers[0]?.reason ?? "", /opt-out/);
});
