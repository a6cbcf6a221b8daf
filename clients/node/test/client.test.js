// Every campaigns method and every error class, against a real `gateway serve`.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { after, before, describe, it } from "node:test";
import {
  AuthenticationError,
  BadRequestError,
  Client,
  ConflictError,
  ConnectionError,
  GatewayError,
  NotFoundError,
  RateLimitError,
  ServerError,
} from "../src/index.js";
import { CSV, Daemon, PYTHON, freePort } from "../test-support/daemon.js";

let daemon;
let client;
let folder;

before(async () => {
  daemon = await Daemon.create({ maxStreamsPerTenant: 2 });
  client = new Client({ baseUrl: daemon.url, apiKey: daemon.key, timeout: 30_000 });
  folder = await mkdtemp(join(tmpdir(), "gateway-node-client-"));
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
  await daemon?.close();
});

async function rejectsWith(promise, Kind, check = () => {}) {
  await assert.rejects(promise, (error) => {
    assert.equal(error.constructor, Kind, `${error.name}: ${error.message}`);
    assert.ok(error instanceof GatewayError);
    check(error);
    return true;
  });
}

describe("campaigns", () => {
  it("creates from a path, a Buffer, a Blob, a Readable and a web stream", async () => {
    const path = join(folder, "list.csv");
    await writeFile(path, CSV);
    const sources = {
      path,
      url: new URL(`file://${path}`),
      buffer: Buffer.from(CSV),
      uint8array: new TextEncoder().encode(CSV),
      blob: new Blob([CSV], { type: "text/csv" }),
      readable: createReadStream(path, { highWaterMark: 7 }),
      generated: Readable.from(CSV.split("\n").map((line, i, all) => (i < all.length - 1 ? `${line}\n` : line))),
      web: new Blob([CSV]).stream(),
    };
    for (const [kind, contacts] of Object.entries(sources)) {
      const campaign = await client.campaigns.create({ name: `by ${kind}`, contacts });
      assert.equal(campaign.status, "draft", kind);
      assert.deepEqual(campaign.import, { rows: 3, contacts: 3, duplicates: 0, duplicate_rows: [], dnc: 0 }, kind);
      assert.deepEqual(campaign.custom_field_names, ["first_name"], kind);
      const { contacts: stored } = await client.campaigns.listContacts(campaign.id);
      assert.deepEqual(stored.map((c) => c.custom_fields.first_name), ["Ada", "Grace", "Linus"], kind);
    }
  });

  it("sends every field under its API name", async () => {
    const scheduledAt = new Date(Date.now() + 86_400_000);
    const campaign = await client.campaigns.create({
      name: "every field",
      contacts: Buffer.from(CSV),
      agentId: "queue",
      phoneNumberId: "main",
      maxConcurrentCalls: 2,
      retriesPerContact: 2,
      retryDelaySeconds: 120,
      scheduledAt,
      maxCallsPerSecond: 1.5,
      ringTimeoutSeconds: 20,
      timezone: "Europe/Paris",
      callingWindowStart: "09:00",
      callingWindowEnd: "18:30",
    });
    const got = await client.campaigns.get(campaign.id);
    const pick = (c) => ({
      agent_id: c.agent_id,
      phone_number_id: c.phone_number_id,
      max_concurrent_calls: c.max_concurrent_calls,
      retries_per_contact: c.retries_per_contact,
      retry_delay_seconds: c.retry_delay_seconds,
      scheduled_at: c.scheduled_at,
      max_calls_per_second: c.max_calls_per_second,
      ring_timeout_seconds: c.ring_timeout_seconds,
      timezone: c.timezone,
      calling_window_start: c.calling_window_start,
      calling_window_end: c.calling_window_end,
    });
    const expected = {
      agent_id: "queue",
      phone_number_id: "main",
      max_concurrent_calls: 2,
      retries_per_contact: 2,
      retry_delay_seconds: 120,
      scheduled_at: scheduledAt.toISOString(),
      max_calls_per_second: 1.5,
      ring_timeout_seconds: 20,
      timezone: "Europe/Paris",
      calling_window_start: "09:00",
      calling_window_end: "18:30",
    };
    assert.deepEqual(pick(campaign), expected);
    assert.deepEqual(pick(got), expected);
    assert.equal((await client.campaigns.start(campaign.id)).status, "scheduled");
    const text = await client.campaigns.create({
      name: "scheduled as text",
      contacts: Buffer.from(CSV),
      scheduledAt: "2099-01-02T03:04:05+01:00",
    });
    assert.equal(text.scheduled_at, "2099-01-02T02:04:05.000Z");
  });

  it("lists, pages, gets, starts, pauses, resumes, stops and deletes", async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await client.campaigns.create({ name: `page ${i}`, contacts: Buffer.from(CSV) })).id);
    }
    const all = await client.campaigns.list({ limit: 1000 });
    assert.ok(all.total >= 3 && all.campaigns.length === all.total);
    assert.deepEqual(all.campaigns.slice(0, 3).map((c) => c.id), ids.toReversed()); // newest first
    assert.deepEqual((await client.campaigns.list({ limit: 1 })).campaigns.map((c) => c.id), [ids[2]]);
    assert.deepEqual((await client.campaigns.list({ limit: 1, offset: 1 })).campaigns.map((c) => c.id), [ids[1]]);
    assert.deepEqual(
      (await client.campaigns.list({ limit: 1, page: 3 })).campaigns,
      (await client.campaigns.list({ limit: 1, offset: 2 })).campaigns,
    );
    assert.equal((await client.campaigns.list()).total, all.total);

    const id = ids[0];
    assert.equal((await client.campaigns.get(id)).name, "page 0");
    const page = await client.campaigns.listContacts(id, { limit: 2 });
    assert.equal(page.total, 3);
    assert.deepEqual(page.contacts.map((c) => c.phone_number), ["+14155550100", "+14155550101"]);
    assert.deepEqual(
      (await client.campaigns.listContacts(id, { limit: 2, page: 2 })).contacts.map((c) => c.phone_number),
      ["+14155550102"],
    );
    const pending = await client.campaigns.listContacts(id, { status: "pending", offset: 1 });
    assert.deepEqual([pending.total, pending.contacts.length], [3, 2]);

    assert.equal((await client.campaigns.start(id)).status, "running");
    assert.equal((await client.campaigns.pause(id)).status, "paused");
    assert.equal((await client.campaigns.resume(id)).status, "running");
    await rejectsWith(client.campaigns.delete(id), ConflictError, (e) => assert.equal(e.status, 409));
    const stopped = await client.campaigns.stop(id);
    assert.equal(stopped.status, "stopped");
    assert.equal(stopped.counts.cancelled, 3);
    assert.equal((await client.campaigns.stop(id)).status, "stopped"); // again: 200
    assert.equal((await client.campaigns.listContacts(id, { status: "cancelled" })).total, 3);
    assert.equal(await client.campaigns.delete(id), undefined);
    await rejectsWith(client.campaigns.get(id), NotFoundError);
    await rejectsWith(client.campaigns.listContacts(id), NotFoundError);
  });

  it("sends retryOn as the comma-separated retry_on", async () => {
    const chosen = await client.campaigns.create({ name: "retry on", contacts: Buffer.from(CSV), retryOn: ["no_answer", "busy"] });
    assert.deepEqual(chosen.retry_on, ["busy", "no_answer"]);
    const text = await client.campaigns.create({ name: "retry on text", contacts: Buffer.from(CSV), retryOn: "congestion" });
    assert.deepEqual(text.retry_on, ["congestion"]);
    const all = await client.campaigns.create({ name: "default", contacts: Buffer.from(CSV) });
    assert.deepEqual([...all.retry_on].sort(), ["busy", "congestion", "failed", "no_answer"]);
    await rejectsWith(
      client.campaigns.create({ name: "bad", contacts: Buffer.from(CSV), retryOn: ["sometimes"] }),
      BadRequestError,
      (e) => assert.equal(e.field, "retry_on"),
    );
  });

  it("gets one contact with its attempts and decisions", async () => {
    const id = (await client.campaigns.create({ name: "detail", contacts: Buffer.from(CSV) })).id;
    await client.campaigns.start(id);
    await client.campaigns.stop(id);
    const [, second] = (await client.campaigns.listContacts(id)).contacts;
    const contact = await client.campaigns.getContact(id, second.id);
    assert.deepEqual(
      [contact.id, contact.phone_number, contact.status, contact.custom_fields.first_name],
      [second.id, "+14155550101", "cancelled", "Grace"],
    );
    assert.deepEqual([contact.attempts, contact.attempts_made], [[], 0]);
    assert.deepEqual(contact.decisions.map((d) => d.decision), ["cancelled"]);
    assert.equal(typeof contact.decisions[0].time, "string");
    assert.equal(typeof contact.decisions[0].detail, "string");
    assert.equal(String((await client.campaigns.getContact(id, String(second.id))).id), String(second.id));
    await rejectsWith(client.campaigns.getContact(id, 999_999), NotFoundError);
    await rejectsWith(client.campaigns.getContact(id, "not-a-number"), NotFoundError);
    await rejectsWith(client.campaigns.getContact("no-such-campaign", second.id), NotFoundError);
    const other = new Client({ baseUrl: daemon.url, apiKey: await daemon.createTenant("initech") });
    await rejectsWith(other.campaigns.getContact(id, second.id), NotFoundError);
  });

  it("reads health, readiness, the OpenAPI document and the metrics", async () => {
    assert.deepEqual(await client.health(), { status: "ok" });
    const ready = await client.ready(); // AMI points at a closed port here: 503
    assert.equal(ready.status, "unavailable");
    assert.equal(ready.checks.database, "ok");
    assert.match(ready.checks.ami, /AMI/);
    const doc = await client.openapi();
    assert.match(doc.openapi, /^3\./);
    assert.ok("/api/v1/campaigns" in doc.paths);
    assert.match(await client.metrics(), /^gateway_sse_subscribers /m);
  });
});

describe("options and the CSV export", () => {
  it("options(): the configured agents and phone numbers", async () => {
    assert.deepEqual(await client.options(), { agents: ["ivr", "queue"], phone_numbers: ["main"] });
    await rejectsWith(new Client({ baseUrl: daemon.url, apiKey: "gw_wrong" }).options(), AuthenticationError);
  });

  it("exportContacts(): the contacts as CSV, streamed, with the list's filters; 404 before any byte", async () => {
    let csv = "phone_number,first_name\n";
    for (let i = 0; i < 2500; i++) csv += `+1415556${String(i).padStart(4, "0")},n${i}\n`;
    const id = (await client.campaigns.create({ name: "export", contacts: Buffer.from(csv) })).id;
    const stream = await client.campaigns.exportContacts(id);
    let chunks = 0;
    let body = "";
    for await (const chunk of stream) {
      assert.ok(Buffer.isBuffer(chunk));
      chunks += 1;
      body += chunk.toString("utf8");
    }
    const lines = body.trimEnd().split("\r\n");
    assert.equal(lines.length, 2501);
    const header = lines[0].split(",");
    assert.deepEqual(header.slice(0, 2), ["phone_number", "status"]);
    assert.equal(header.at(-1), "first_name");
    assert.deepEqual(lines[1].split(",").slice(0, 2), ["+14155560000", "pending"]);
    assert.ok(lines[2500].startsWith("+14155562499,pending,"));
    assert.ok(lines[2500].endsWith(",n2499"));
    assert.ok(chunks > 1, `one chunk of ${body.length} bytes: not streamed`);

    const page = (await text(await client.campaigns.exportContacts(id, { limit: 2, offset: 1 }))).trimEnd().split("\r\n");
    assert.deepEqual(page.slice(1).map((l) => l.split(",")[0]), ["+14155560001", "+14155560002"]);
    const none = await text(await client.campaigns.exportContacts(id, { status: "cancelled" }));
    assert.equal(none.trimEnd().split("\r\n").length, 1); // the header alone
    await rejectsWith(client.campaigns.exportContacts(id, { status: "ringing" }), BadRequestError,
      (e) => assert.equal(e.field, "status"));
    await rejectsWith(client.campaigns.exportContacts("no-such-campaign"), NotFoundError);
    const stranger = new Client({ baseUrl: daemon.url, apiKey: await daemon.createTenant("hooli") });
    await rejectsWith(stranger.campaigns.exportContacts(id), NotFoundError);

    const early = await client.campaigns.exportContacts(id); // a reader that leaves early
    for await (const chunk of early) {
      assert.ok(chunk.length > 0);
      break;
    }
    assert.ok(early.destroyed);
  });
});

describe("errors", () => {
  it("AuthenticationError: 401 for a wrong key", async () => {
    const stranger = new Client({ baseUrl: daemon.url, apiKey: "gw_not-a-key" });
    await rejectsWith(stranger.campaigns.list(), AuthenticationError, (e) => {
      assert.equal(e.status, 401);
      assert.match(e.message, /API key/);
    });
  });

  it("NotFoundError: 404 for a missing campaign or another tenant's", async () => {
    await rejectsWith(client.campaigns.get("no-such-campaign"), NotFoundError, (e) => {
      assert.deepEqual([e.status, e.message], [404, "campaign not found"]);
    });
    const mine = await client.campaigns.create({ name: "mine", contacts: Buffer.from(CSV) });
    const other = new Client({ baseUrl: daemon.url, apiKey: await daemon.createTenant("globex") });
    await rejectsWith(other.campaigns.start(mine.id), NotFoundError);
    await rejectsWith(other.campaigns.delete(mine.id), NotFoundError);
    assert.ok(!(await other.campaigns.list()).campaigns.some((c) => c.id === mine.id));
    assert.equal((await client.campaigns.get(mine.id)).status, "draft"); // untouched
  });

  it("ConflictError: 409 for a command the state refuses", async () => {
    const draft = await client.campaigns.create({ name: "draft", contacts: Buffer.from(CSV) });
    await rejectsWith(client.campaigns.pause(draft.id), ConflictError, (e) => {
      assert.equal(e.status, 409);
      assert.match(e.message, /draft/);
    });
    await rejectsWith(client.campaigns.resume(draft.id), ConflictError);
  });

  it("BadRequestError: 400 naming the field, and the row of a CSV", async () => {
    await rejectsWith(
      client.campaigns.create({ name: "too many", contacts: Buffer.from(CSV), maxConcurrentCalls: 500 }),
      BadRequestError,
      (e) => {
        assert.deepEqual([e.status, e.field, e.row], [400, "max_concurrent_calls", null]);
        assert.match(e.message, /^max_concurrent_calls: /);
      },
    );
    await rejectsWith(
      client.campaigns.create({ name: "bad row", contacts: Buffer.from("phone_number\n+14155550100\nnope\n") }),
      BadRequestError,
      (e) => {
        assert.deepEqual([e.field, e.row], ["contacts", 3]);
        assert.match(e.message, /row 3/);
      },
    );
    await rejectsWith(client.campaigns.create({ name: "x", contacts: Buffer.from(CSV), agentId: "nope" }), BadRequestError,
      (e) => assert.equal(e.field, "agent_id"));
    const id = (await client.campaigns.list({ limit: 1 })).campaigns[0].id;
    await rejectsWith(client.campaigns.listContacts(id, { status: "ringing" }), BadRequestError,
      (e) => assert.equal(e.field, "status"));
    await rejectsWith(client.campaigns.list({ page: 1, offset: 2 }), BadRequestError, (e) => assert.equal(e.field, "page"));
    await rejectsWith(client.campaigns.list({ limit: 0 }), BadRequestError, (e) => assert.equal(e.field, "limit"));
  });

  it("RateLimitError: 429 over the tenant's open event streams, never retried", async () => {
    const id = (await client.campaigns.create({ name: "streams", contacts: Buffer.from(CSV) })).id;
    const controller = new AbortController();
    const open = [0, 1].map(() => client.campaigns.streamEvents(id, { signal: controller.signal }));
    const reading = open.map(async (stream) => {
      for await (const event of stream) void event;
    });
    try {
      await daemon.waitForSubscribers(2);
      let retried = 0;
      const third = client.campaigns.streamEvents(id, { onReconnect: () => (retried += 1) });
      await rejectsWith(third.next(), RateLimitError, (e) => {
        assert.equal(e.status, 429);
        assert.match(e.message, /stream/);
      });
      assert.equal(retried, 0);
    } finally {
      controller.abort();
      await Promise.all(reading);
    }
  });

  it("ServerError: 503 while the storage cannot take a write, which changes nothing", async () => {
    const id = (await client.campaigns.create({ name: "locked", contacts: Buffer.from(CSV) })).id;
    // Another process holds SQLite's write lock; the daemon's write waits its busy
    // timeout (10 s), then refuses.
    const locker = spawn(PYTHON, ["-c", [
      "import sqlite3, sys",
      "db = sqlite3.connect(sys.argv[1], isolation_level=None)",
      "db.execute('BEGIN IMMEDIATE')",
      "print('locked', flush=True)",
      "sys.stdin.read()",
    ].join("\n"), daemon.db], { stdio: ["pipe", "pipe", "inherit"] });
    try {
      await new Promise((resolve, reject) => {
        locker.stdout.once("data", resolve);
        locker.once("exit", () => reject(new Error("the locker exited")));
      });
      await rejectsWith(client.campaigns.start(id), ServerError, (e) => {
        assert.equal(e.status, 503);
        assert.match(e.message, /nothing was changed/);
      });
    } finally {
      locker.stdin.end();
      await new Promise((resolve) => (locker.exitCode !== null ? resolve() : locker.once("exit", resolve)));
    }
    assert.equal((await client.campaigns.get(id)).status, "draft");
    assert.equal((await client.campaigns.start(id)).status, "running");
    await client.campaigns.stop(id);
  });

  it("ConnectionError: nothing listening, or no answer within the timeout", async () => {
    const nowhere = new Client({ baseUrl: `http://127.0.0.1:${await freePort()}`, apiKey: "k" });
    await rejectsWith(nowhere.campaigns.list(), ConnectionError, (e) => {
      assert.equal(e.status, null);
      assert.match(e.message, /cannot reach .*ECONNREFUSED/);
    });
    const held = new Set();
    const silent = net.createServer((socket) => held.add(socket)); // accepts, never answers
    await new Promise((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const slow = new Client({ baseUrl: `http://127.0.0.1:${silent.address().port}`, apiKey: "k", timeout: 300 });
      const started = Date.now();
      await rejectsWith(slow.campaigns.get("x"), ConnectionError, (e) => assert.match(e.message, /timed out/));
      assert.ok(Date.now() - started < 5000);
    } finally {
      for (const socket of held) socket.destroy();
      silent.close();
    }
  });
});
