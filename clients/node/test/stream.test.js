// streamEvents() against a real daemon: replay, live, resume after a cut connection and
// across a killed and restarted daemon (no event missed), abort, bounded retries.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { BadRequestError, Client, ConnectionError, NotFoundError } from "../src/index.js";
import { CSV, Daemon, Proxy, freePort, waitFor } from "../test-support/daemon.js";

const stored = (events) => events.filter((e) => e.id !== null).map((e) => e.id);

async function collect(stream, into = []) {
  for await (const event of stream) into.push(event);
  return into;
}

let daemon;
let client;

before(async () => {
  daemon = await Daemon.create();
  client = new Client({ baseUrl: daemon.url, apiKey: daemon.key });
});

after(() => daemon?.close());

function csvOf(count) {
  let text = "phone_number\n";
  for (let i = 0; i < count; i++) text += `+1415555${String(i).padStart(4, "0")}\n`;
  return Buffer.from(text);
}

describe("streamEvents", () => {
  it("replays the history from 0, parsed, and ends after `end`", async () => {
    const id = (await client.campaigns.create({ name: "replay", contacts: Buffer.from(CSV) })).id;
    await client.campaigns.start(id);
    await client.campaigns.stop(id);
    const events = await collect(client.campaigns.streamEvents(id, { lastEventId: 0 }));
    const kinds = events.filter((e) => e.id !== null).map((e) => [e.event, e.data.to]);
    assert.deepEqual(kinds, [
      ["campaign", "running"],
      ["contact", "cancelled"],
      ["contact", "cancelled"],
      ["contact", "cancelled"],
      ["campaign", "stopped"],
    ]);
    const ids = stored(events);
    assert.deepEqual(ids, await daemon.storedEventIds(id));
    const contact = events.find((e) => e.event === "contact");
    assert.equal(contact.data.campaign_id, id);
    assert.equal(contact.data.phone_number, "+14155550100");
    assert.equal(typeof contact.data.contact_id, "number");
    assert.deepEqual(events.at(-2).event, "metrics");
    assert.equal(events.at(-2).data.counts.cancelled, 3);
    assert.deepEqual(events.at(-1), { id: null, event: "end", data: { campaign_id: id, status: "stopped" } });
    // After the third stored event: exactly the rest.
    const rest = await collect(client.campaigns.streamEvents(id, { lastEventId: ids[2] }));
    assert.deepEqual(stored(rest), ids.slice(3));
    // The last two transitions, then what came after them (the stop).
    const lastTwo = await collect(client.campaigns.streamEvents(id, { history: 2 }));
    assert.deepEqual(stored(lastTwo), ids.slice(2));
    await assert.rejects(
      collect(client.campaigns.streamEvents(id, { history: 0 })),
      (error) => error instanceof BadRequestError && /history/.test(error.message),
    );
  });

  it("is live from now without lastEventId", async () => {
    const id = (await client.campaigns.create({ name: "live", contacts: Buffer.from(CSV) })).id;
    const reading = collect(client.campaigns.streamEvents(id));
    await daemon.waitForSubscribers(1);
    await client.campaigns.start(id);
    await client.campaigns.stop(id);
    const events = await reading;
    assert.deepEqual(events.filter((e) => e.id !== null).map((e) => e.event), [
      "campaign", "contact", "contact", "contact", "campaign",
    ]);
    assert.equal(events.at(-1).event, "end");
  });

  it("resumes with Last-Event-ID after a cut connection, missing and repeating nothing", async () => {
    const id = (await client.campaigns.create({ name: "cut", contacts: Buffer.from(CSV) })).id;
    await client.campaigns.start(id);
    const proxy = await new Proxy(daemon.port).listen();
    try {
      const viaProxy = new Client({ baseUrl: proxy.url, apiKey: daemon.key });
      const reconnects = [];
      const stream = viaProxy.campaigns.streamEvents(id, {
        lastEventId: 0,
        retryDelay: 50,
        onReconnect: (info) => reconnects.push(info),
      });
      const first = (await stream.next()).value;
      assert.deepEqual([first.event, first.data.to], ["campaign", "running"]);
      proxy.cut(); // abrupt: no end of the chunked body
      await client.campaigns.stop(id); // happens while the stream is down
      const rest = await collect(stream);
      assert.equal(proxy.connections, 2);
      assert.match(proxy.requests[1], new RegExp(`\r\nlast-event-id: ${first.id}\r\n`, "i"));
      assert.deepEqual(reconnects.map((r) => [r.attempt, r.delay, r.lastEventId]), [[1, 50, first.id]]);
      assert.deepEqual([first.id, ...stored(rest)], await daemon.storedEventIds(id));
      assert.equal(rest.at(-1).event, "end");
    } finally {
      await proxy.close();
    }
  });

  it("stops when the signal aborts: while reading, while backing off, or before it starts", async () => {
    const id = (await client.campaigns.create({ name: "abort", contacts: Buffer.from(CSV) })).id;
    await client.campaigns.start(id);
    const reading = new AbortController();
    const seen = [];
    const done = collect(client.campaigns.streamEvents(id, { lastEventId: 0, signal: reading.signal }), seen);
    await waitFor(() => stored(seen).length === 1, { what: "the first event" });
    reading.abort();
    assert.equal(await done, seen); // ends, no error
    const count = seen.length;
    assert.deepEqual(seen[0].data.to, "running");
    await waitFor(async () => (await daemon.subscribers()) === 0, { what: "the stream to close" });
    assert.equal(seen.length, count, "nothing after the abort");

    const nowhere = new Client({ baseUrl: `http://127.0.0.1:${await freePort()}`, apiKey: "k" });
    const backingOff = new AbortController();
    let retries = 0;
    const started = Date.now();
    const waiting = collect(nowhere.campaigns.streamEvents(id, {
      signal: backingOff.signal,
      retryDelay: 60_000,
      onReconnect: () => {
        retries += 1;
        setTimeout(() => backingOff.abort(), 50);
      },
    }));
    assert.deepEqual(await waiting, []);
    assert.equal(retries, 1);
    assert.ok(Date.now() - started < 5000, "did not wait out the 60 s back-off");

    const proxy = await new Proxy(daemon.port).listen();
    try {
      const viaProxy = new Client({ baseUrl: proxy.url, apiKey: daemon.key });
      assert.deepEqual(await collect(viaProxy.campaigns.streamEvents(id, { signal: AbortSignal.abort() })), []);
      assert.equal(proxy.connections, 0);
    } finally {
      await proxy.close();
      await client.campaigns.stop(id);
    }
  });

  it("gives up after maxRetries failures in a row, backing off between them", async () => {
    const nowhere = new Client({ baseUrl: `http://127.0.0.1:${await freePort()}`, apiKey: "k" });
    const delays = [];
    await assert.rejects(
      collect(nowhere.campaigns.streamEvents("x", {
        maxRetries: 3,
        retryDelay: 10,
        onReconnect: ({ delay, reason }) => {
          delays.push(delay);
          assert.match(reason, /ECONNREFUSED/);
        },
      })),
      (error) => error instanceof ConnectionError && /after 3 retries/.test(error.message),
    );
    assert.deepEqual(delays, [10, 20, 40]);
  });

  it("throws the typed error of a refusal, without retrying", async () => {
    let retried = 0;
    const onReconnect = () => (retried += 1);
    await assert.rejects(collect(client.campaigns.streamEvents("no-such-campaign", { onReconnect })), NotFoundError);
    const id = (await client.campaigns.create({ name: "bad id", contacts: Buffer.from(CSV) })).id;
    await assert.rejects(collect(client.campaigns.streamEvents(id, { lastEventId: -1, onReconnect })), BadRequestError);
    assert.equal(retried, 0);
  });

  it("releases the connection when the reader leaves early", async () => {
    const id = (await client.campaigns.create({ name: "early", contacts: Buffer.from(CSV) })).id;
    await client.campaigns.start(id);
    for await (const event of client.campaigns.streamEvents(id, { lastEventId: 0 })) {
      assert.equal(event.event, "campaign");
      break;
    }
    await waitFor(async () => (await daemon.subscribers()) === 0, { what: "the stream to close" });
    assert.equal((await client.campaigns.stop(id)).status, "stopped");
  });
});

describe("streamEvents across a killed daemon", () => {
  it("misses no event: SIGKILL, events while it is unreachable, restart on the same port and db", async () => {
    const own = await Daemon.create();
    const proxy = await new Proxy(own.port).listen();
    try {
      const direct = new Client({ baseUrl: own.url, apiKey: own.key });
      const viaProxy = new Client({ baseUrl: proxy.url, apiKey: own.key });
      const id = (await direct.campaigns.create({ name: "restart", contacts: csvOf(200) })).id;
      const reconnects = [];
      const events = [];
      const reading = collect(
        viaProxy.campaigns.streamEvents(id, {
          retryDelay: 100,
          maxRetries: 10,
          onReconnect: (info) => reconnects.push(info),
        }),
        events,
      );
      await own.waitForSubscribers(1);
      await direct.campaigns.start(id);
      await direct.campaigns.pause(id);
      await waitFor(() => stored(events).length === 2, { what: "running and paused" });
      const beforeKill = stored(events).at(-1);

      proxy.refuse = true; // the client cannot get back in until we say so
      await own.kill();
      await own.start();
      // These happen while the client is away: 202 events it has to catch up on.
      await direct.campaigns.resume(id);
      await direct.campaigns.stop(id);
      await waitFor(() => reconnects.length >= 2, { what: "reconnection attempts" });
      proxy.refuse = false;
      await reading;

      const ids = stored(events);
      const inStore = await own.storedEventIds(id);
      assert.equal(inStore.length, 204);
      assert.deepEqual(ids, inStore); // every stored event, once, in order
      assert.ok(ids.every((value, i) => i === 0 || value === ids[i - 1] + 1), "contiguous ids");
      assert.deepEqual(events.filter((e) => e.event === "campaign").map((e) => e.data.to), [
        "running", "paused", "running", "stopped",
      ]);
      assert.equal(events.filter((e) => e.event === "contact").length, 200);
      assert.deepEqual(events.at(-1).data, { campaign_id: id, status: "stopped" });
      assert.ok(reconnects.every((r) => r.lastEventId === beforeKill));
      assert.ok(reconnects.map((r) => r.delay).every((d, i, all) => i === 0 || d > all[i - 1] || d === 10_000));
      const resumed = proxy.requests.at(-1);
      assert.match(resumed, new RegExp(`\r\nlast-event-id: ${beforeKill}\r\n`, "i"));
    } finally {
      await proxy.close();
      await own.close();
    }
  });
});

describe("streamEvents against a server that goes silent", () => {
  it("counts readTimeout without a byte as a drop, but not a reader that takes its time", async () => {
    const http = await import("node:http");
    const requests = [];
    const server = http.createServer((request, response) => {
      requests.push(request.headers["last-event-id"] ?? null);
      response.writeHead(200, { "Content-Type": "text/event-stream" });
      if (requests.length === 1) {
        response.write("retry: 2000\nid: 5\n\n"); // then silence, connection open
      } else {
        response.write('id: 6\nevent: contact\ndata: {"n":6}\n\nid: 7\nevent: contact\ndata: {"n":7}\n\n');
        response.end('event: end\ndata: {"status":"stopped"}\n\n');
      }
    });
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const fake = new Client({ baseUrl: `http://127.0.0.1:${server.address().port}`, apiKey: "k" });
      const reconnects = [];
      const got = [];
      for await (const event of fake.campaigns.streamEvents("c", {
        readTimeout: 300,
        retryDelay: 10,
        onReconnect: (info) => reconnects.push(info),
      })) {
        got.push(event.id);
        if (got.length > 5) break; // re-read events: the reader's pause was counted as silence
        await new Promise((r) => setTimeout(r, 500)); // longer than readTimeout, between events
      }
      assert.deepEqual(requests, [null, "5"]); // resumed after the id-only block
      assert.equal(reconnects.length, 1);
      assert.match(reconnects[0].reason, /timed out \(300 ms without progress\)/);
      assert.deepEqual(got, [6, 7, null]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
