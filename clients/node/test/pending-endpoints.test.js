// The methods of endpoints that are being built on other branches (getContact, the DNC
// list, options, the CSV export, and the retry_on / amd / machine_agent_id fields),
// against a real daemon. NOT run by scripts/test until those endpoints are on main: see
// PENDING in tests/integration/test_node_client.py.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { text } from "node:stream/consumers";
import { BadRequestError, Client, NotFoundError } from "../src/index.js";
import { CSV, Daemon } from "../test-support/daemon.js";

let daemon;
let client;
let other;

before(async () => {
  daemon = await Daemon.create();
  client = new Client({ baseUrl: daemon.url, apiKey: daemon.key });
  other = new Client({ baseUrl: daemon.url, apiKey: await daemon.createTenant("globex") });
});

after(() => daemon?.close());

const list = (value) => (Array.isArray(value) ? value : String(value).split(",")).map((v) => v.trim()).sort();

describe("options", () => {
  it("names the configured agents and phone numbers", async () => {
    const options = await client.options();
    assert.deepEqual(list(options.agents), ["ivr", "queue"]);
    assert.deepEqual(list(options.phone_numbers), ["main"]);
  });
});

describe("campaigns: the newer fields", () => {
  it("sends retryOn, amd and machineAgentId under their API names", async () => {
    const campaign = await client.campaigns.create({
      name: "fields",
      contacts: Buffer.from(CSV),
      retryOn: ["busy", "no_answer"],
      amd: true,
      machineAgentId: "queue",
    });
    assert.deepEqual(list(campaign.retry_on), ["busy", "no_answer"]);
    assert.ok(["on", "true"].includes(String(campaign.amd)), `amd ${campaign.amd}`);
    assert.equal(campaign.machine_agent_id, "queue");
    await assert.rejects(
      client.campaigns.create({ name: "bad", contacts: Buffer.from(CSV), retryOn: ["sometimes"] }),
      (e) => e instanceof BadRequestError && e.field === "retry_on",
    );
  });
});

describe("getContact", () => {
  it("gives a contact with its attempts and decisions; 404 otherwise", async () => {
    const id = (await client.campaigns.create({ name: "trail", contacts: Buffer.from(CSV) })).id;
    await client.campaigns.start(id);
    await client.campaigns.stop(id);
    const [first] = (await client.campaigns.listContacts(id, { limit: 1 })).contacts;
    const contact = await client.campaigns.getContact(id, first.id);
    assert.equal(contact.id, first.id);
    assert.equal(contact.phone_number, "+14155550100");
    assert.equal(contact.status, "cancelled");
    assert.ok(Array.isArray(contact.attempts) && contact.attempts.length === 0);
    assert.ok(Array.isArray(contact.decisions));
    assert.deepEqual(contact.decisions.map((d) => d.decision), ["cancelled"]);
    assert.equal(typeof contact.decisions[0].time, "string");
    await assert.rejects(client.campaigns.getContact(id, 999_999), NotFoundError);
    await assert.rejects(other.campaigns.getContact(id, first.id), NotFoundError);
  });
});

describe("exportContacts", () => {
  it("streams the contacts as CSV, filtered by status; 404 before any byte", async () => {
    const id = (await client.campaigns.create({ name: "export", contacts: Buffer.from(CSV) })).id;
    const csv = await text(await client.campaigns.exportContacts(id));
    const lines = csv.trim().split(/\r?\n/);
    assert.match(lines[0], /phone_number/);
    assert.equal(lines.length, 4);
    assert.ok(lines[1].includes("+14155550100"));
    assert.equal((await text(await client.campaigns.exportContacts(id, { status: "cancelled" }))).trim().split(/\r?\n/).length, 1);
    await assert.rejects(client.campaigns.exportContacts("no-such-campaign"), NotFoundError);
    await assert.rejects(other.campaigns.exportContacts(id), NotFoundError);
  });
});

describe("dnc", () => {
  it("adds, looks up, lists, imports and removes numbers, per tenant", async () => {
    assert.deepEqual(await client.dnc.add(["+14155550100", "+1 415 555 0101"], { reason: "asked" }), { added: 2, already: 0 });
    assert.deepEqual(await client.dnc.add(["+14155550101"]), { added: 0, already: 1 });
    const all = await client.dnc.list();
    assert.equal(all.total, 2);
    assert.deepEqual(all.numbers.map((n) => n.phone_number).sort(), ["+14155550100", "+14155550101"]);
    assert.equal(all.numbers.find((n) => n.phone_number === "+14155550100").reason, "asked");
    assert.equal(typeof all.numbers[0].created_at, "string");
    assert.equal((await client.dnc.list({ limit: 1 })).numbers.length, 1);
    assert.equal((await client.dnc.list({ limit: 1, offset: 1 })).numbers.length, 1);
    const one = await client.dnc.list({ phoneNumber: "+1 (415) 555-0101" });
    assert.deepEqual([one.total, one.numbers[0].phone_number], [1, "+14155550101"]);

    const imported = await client.dnc.import(Buffer.from("phone_number\n+14155550102\n+14155550100\n"), { reason: "file" });
    assert.deepEqual(imported, { added: 1, already: 1 });
    await assert.rejects(
      client.dnc.import(Buffer.from("phone_number\n+14155550103\nnope\n")),
      (e) => e instanceof BadRequestError && e.row === 3,
    );
    await assert.rejects(client.dnc.add(["nope"]), BadRequestError);
    assert.equal((await client.dnc.list()).total, 3); // nothing of the refused ones

    assert.equal((await other.dnc.list()).total, 0); // another tenant's list is its own
    await assert.rejects(other.dnc.remove("+14155550100"), NotFoundError);

    assert.equal(await client.dnc.remove("+14155550100"), undefined);
    assert.equal((await client.dnc.list({ phoneNumber: "+14155550100" })).total, 0);
    await assert.rejects(client.dnc.remove("+14155550100"), NotFoundError);
  });
});
