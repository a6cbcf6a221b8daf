// The TypeScript declarations against the real server: what the module exports, what a
// daemon answers, the OpenAPI document's schemas, and the JSON of every event type.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import * as module from "../src/index.js";
import { Client } from "../src/index.js";
import { CSV, Daemon, PYTHON, REPO } from "../test-support/daemon.js";
import { declaredFields, declaredType, declaredValues, eventMismatches, mismatches, propertyType } from "../test-support/declared.js";

const run = promisify(execFile);

let daemon;
let client;

before(async () => {
  daemon = await Daemon.create();
  client = new Client({ baseUrl: daemon.url, apiKey: daemon.key });
});

after(() => daemon?.close());

const conforms = (value, type) => assert.deepEqual(mismatches(value, type), [], JSON.stringify(value));

describe("index.d.ts", () => {
  it("declares exactly the values the module exports (no class it lacks)", () => {
    assert.deepEqual(declaredValues(), Object.keys(module).sort());
  });

  it("declares every field of the answers, as they are sent", async () => {
    const created = await client.campaigns.create({
      name: "shapes",
      contacts: Buffer.from(CSV),
      amd: true,
      machineAgentId: "queue",
      retryOn: ["busy", "machine"],
    });
    conforms(created, "CreatedCampaign");
    assert.deepEqual([created.amd, created.machine_agent_id, created.retry_on], ["on", "queue", ["busy", "machine"]]);
    const plain = await client.campaigns.create({ name: "plain", contacts: Buffer.from(CSV) });
    assert.deepEqual([plain.amd, plain.machine_agent_id], ["off", null]);
    conforms(await client.campaigns.get(created.id), "Campaign");
    conforms(await client.campaigns.list(), "CampaignList");
    const contacts = await client.campaigns.listContacts(created.id);
    conforms(contacts, "ContactList");
    const [first] = contacts.contacts;
    assert.deepEqual([first.answered_by, first.amd_cause, first.updated_at], [null, null, null]); // never dialled
    conforms(await client.campaigns.getContact(created.id, first.id), "ContactDetail");
    await client.campaigns.start(created.id);
    conforms(await client.campaigns.stop(created.id), "Campaign");
    const cancelled = (await client.campaigns.listContacts(created.id)).contacts[0];
    assert.equal(typeof cancelled.updated_at, "string"); // set by its first change
    conforms(cancelled, "Contact");

    conforms(await client.dnc.add(["+14155550190"]), "DncAddResult");
    await client.dnc.add(["+14155550191"], { reason: "asked" });
    const dnc = await client.dnc.list();
    conforms(dnc, "DncList");
    assert.deepEqual(dnc.numbers.map((n) => n.reason).sort(), ["", "asked"]); // "" when none given
    conforms(await client.options(), "GatewayOptionsList");
    conforms(await client.ready(), "Readiness");
  });

  it("declares every field of the OpenAPI document's schemas, nullable where it is", async () => {
    const { components } = await client.openapi();
    const pairs = [
      ["Campaign", "Campaign"],
      ["Contact", "Contact"],
      ["ContactDetail", "ContactDetail"],
      ["DncNumber", "DncEntry"],
    ];
    for (const [schemaName, typeName] of pairs) {
      const declared = new Map(declaredFields(typeName));
      const type = declaredType(typeName);
      for (const [field, schema] of Object.entries(components.schemas[schemaName].properties)) {
        assert.ok(declared.has(field), `${typeName} lacks ${field}, which the OpenAPI ${schemaName} has`);
        const nullable = [schema.type].flat().includes("null");
        const accepts = mismatches(null, propertyType(type, field)).length === 0;
        assert.equal(accepts, nullable, `${typeName}.${field}: null ${nullable ? "is" : "is not"} in the OpenAPI type`);
        for (const value of schema.enum ?? []) {
          assert.deepEqual(mismatches(value, propertyType(type, field)), [], `${typeName}.${field}: ${value}`);
        }
      }
    }
    const attempt = new Map(declaredFields("Attempt"));
    const items = components.schemas.ContactDetail.properties.attempts.items.properties;
    for (const field of Object.keys(items)) assert.ok(attempt.has(field), `Attempt lacks ${field}`);
  });

  it("declares every event of a live stream: contact, campaign, metrics, end", async () => {
    const { id } = await client.campaigns.create({ name: "events", contacts: Buffer.from(CSV) });
    await client.campaigns.start(id); // it runs (nothing dials here): metrics every 2 s
    const seen = new Map();
    let stopped = false;
    for await (const event of client.campaigns.streamEvents(id, { lastEventId: 0, signal: AbortSignal.timeout(30_000) })) {
      assert.deepEqual(eventMismatches(event), [], JSON.stringify(event));
      seen.set(event.event, event);
      if (event.event === "metrics" && !stopped) {
        stopped = true;
        await client.campaigns.stop(id); // its contacts cancelled, the campaign stopped, the end
      }
    }
    assert.deepEqual([...seen.keys()].sort(), ["campaign", "contact", "end", "metrics"]);
    assert.equal(typeof seen.get("metrics").data.waiting_for_window, "number");
    assert.equal(seen.get("metrics").data.machine_rate, null); // no verdict yet
    assert.deepEqual(seen.get("end").data, { campaign_id: id, status: "stopped" });
  });

  it("declares the JSON the server builds for amd, opt_out and a contact's end", async () => {
    // gateway/domain/eventlog.py, the one place every stored event's JSON is made, with
    // every extra the store passes (sip_code, reason, answered_by, node).
    const script = [
      "import json",
      "from gateway.domain.eventlog import amd_event, campaign_event, contact_event, opt_out_event",
      "t = '2030-01-01T00:00:00.000Z'",
      "for kind, data in [",
      "  ('contact', contact_event('c', 1, '+14155550100', 'connected', 'failed', 1, t, outcome='machine',",
      "      hangup_cause=16, sip_code='200', reason='hung up on a machine', answered_by='machine', node='a')),",
      "  ('contact', contact_event('c', 1, '+14155550100', 'originated', 'pending', 0, t, outcome='not_sent',",
      "      reason='node lost', node='a')),",
      "  ('contact', contact_event('c', 1, '+14155550100', 'pending', 'cancelled', 0, t)),",
      "  ('campaign', campaign_event('c', 'running', 'completed', t)),",
      "  ('amd', amd_event('c', 1, '+14155550100', 1, 'human', 'HUMAN-800-800', t)),",
      "  ('amd', amd_event('c', 1, '+14155550100', 1, 'unknown', None, t)),",
      "  ('opt_out', opt_out_event('c', 1, '+14155550100', t)),",
      "]:",
      "  print(json.dumps({'event': kind, 'data': json.loads(data)}))",
    ].join("\n");
    const { stdout } = await run(PYTHON, ["-c", script], { cwd: REPO, timeout: 30_000 });
    const events = stdout.trim().split("\n").map((line) => ({ id: 1, ...JSON.parse(line) }));
    assert.equal(events.length, 7);
    for (const event of events) assert.deepEqual(eventMismatches(event), [], JSON.stringify(event));
    // ... and a wrong one is caught: the checker is not blind.
    assert.notDeepEqual(eventMismatches({ id: 1, event: "amd", data: { ...events[4].data, answered_by: "robot" } }), []);
    assert.notDeepEqual(eventMismatches({ id: null, event: "opt_out", data: events[6].data }), []);
  });
});
