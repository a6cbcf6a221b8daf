// The answering-machine detection fields (issue 8) through the client, against a real
// daemon: amd and machineAgentId under their API names.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
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

describe("campaigns: the newer fields", () => {
  it("sends amd and machineAgentId under their API names", async () => {
    const campaign = await client.campaigns.create({
      name: "fields",
      contacts: Buffer.from(CSV),
      amd: true,
      machineAgentId: "queue",
    });
    assert.ok(["on", "true"].includes(String(campaign.amd)), `amd ${campaign.amd}`);
    assert.equal(campaign.machine_agent_id, "queue");
    const off = await client.campaigns.create({ name: "off", contacts: Buffer.from(CSV), amd: false });
    assert.ok(["off", "false"].includes(String(off.amd)), `amd ${off.amd}`);
    await assert.rejects(
      client.campaigns.create({ name: "bad", contacts: Buffer.from(CSV), amd: true, machineAgentId: "nope" }),
      (e) => e instanceof BadRequestError && e.field === "machine_agent_id",
    );
  });
});
