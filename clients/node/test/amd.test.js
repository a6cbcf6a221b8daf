// The answering-machine detection fields (issue 8) through the client, against a real
// daemon: amd and machineAgentId under their API names, `machine` in retryOn.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { BadRequestError, Client } from "../src/index.js";
import { CSV, Daemon } from "../test-support/daemon.js";

let daemon;
let client;

before(async () => {
  daemon = await Daemon.create();
  client = new Client({ baseUrl: daemon.url, apiKey: daemon.key });
});

after(() => daemon?.close());

describe("campaigns: the newer fields", () => {
  it("sends amd and machineAgentId under their API names", async () => {
    const campaign = await client.campaigns.create({
      name: "fields",
      contacts: Buffer.from(CSV),
      amd: true,
      machineAgentId: "queue",
    });
    assert.deepEqual([campaign.amd, campaign.machine_agent_id], ["on", "queue"]);
    const got = await client.campaigns.get(campaign.id);
    assert.deepEqual([got.amd, got.machine_agent_id], ["on", "queue"]);
    const off = await client.campaigns.create({ name: "off", contacts: Buffer.from(CSV), amd: false });
    assert.deepEqual([off.amd, off.machine_agent_id], ["off", null]);
    const text = await client.campaigns.create({ name: "text", contacts: Buffer.from(CSV), amd: "on" });
    assert.equal(text.amd, "on");
    await assert.rejects(
      client.campaigns.create({ name: "bad", contacts: Buffer.from(CSV), amd: true, machineAgentId: "nope" }),
      (e) => e instanceof BadRequestError && e.field === "machine_agent_id",
    );
  });

  it("retries a machine only when retryOn names it", async () => {
    const chosen = await client.campaigns.create({ name: "machine", contacts: Buffer.from(CSV), amd: true, retryOn: ["machine", "busy"] });
    assert.deepEqual(chosen.retry_on, ["busy", "machine"]);
    const plain = await client.campaigns.create({ name: "default", contacts: Buffer.from(CSV), amd: true });
    assert.ok(!plain.retry_on.includes("machine"), plain.retry_on.join());
  });

  it("shows each contact's answered_by and amd_cause (null before a verdict)", async () => {
    const { id } = await client.campaigns.create({ name: "contacts", contacts: Buffer.from(CSV), amd: true });
    const [contact] = (await client.campaigns.listContacts(id)).contacts;
    assert.deepEqual([contact.answered_by, contact.amd_cause], [null, null]);
    const detail = await client.campaigns.getContact(id, contact.id);
    assert.deepEqual([detail.answered_by, detail.amd_cause], [null, null]);
  });
});
