// No daemon: the SSE parser, the form on the wire, the error mapping, the configuration.

import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import {
  AuthenticationError,
  BadRequestError,
  Client,
  ConflictError,
  ConnectionError,
  GatewayError,
  NotFoundError,
  RateLimitError,
  SSEParser,
  ServerError,
} from "../src/index.js";
import { errorFor } from "../src/errors.js";

describe("SSEParser", () => {
  it("follows the WHATWG rules, whatever the chunks", () => {
    const text =
      "retry: 2000\nid: 7\n\n: heartbeat\n\nevent: metrics\ndata: {\"a\":\r\ndata: 1}\r\n\r\n" +
      "id: 8\revent: contact\rdata: [1]\r\r" +
      "data: plain text\n\nid: x\ndata:no space\n\nevent: end\ndata: {}\n\n";
    const expected = [
      { id: null, event: "metrics", data: { a: 1 } },
      { id: 8, event: "contact", data: [1] },
      { id: null, event: "message", data: "plain text" },
      { id: null, event: "message", data: "no space" },
      { id: null, event: "end", data: {} },
    ];
    // Whole, then cut at every position (a CRLF split between chunks included).
    for (let cut = 0; cut <= text.length; cut++) {
      const parser = new SSEParser();
      const events = [...parser.feed(text.slice(0, cut)), ...parser.feed(text.slice(cut))];
      assert.deepEqual(events, expected, `cut at ${cut}`);
      assert.equal(parser.lastId, 8);
    }
    const byChar = new SSEParser();
    assert.deepEqual([...text].flatMap((c) => byChar.feed(c)), expected);
  });

  it("takes the position from an id-only block", () => {
    const parser = new SSEParser();
    assert.deepEqual(parser.feed("retry: 2000\nid: 41\n\n"), []);
    assert.equal(parser.lastId, 41);
  });
});

/** A Client whose fetch records the request (method, url, headers, body text). */
function recording(reply = { status: 201, body: "{}" }) {
  const seen = [];
  const fetch = async (url, init) => {
    let body = init.body;
    if (body instanceof ReadableStream) {
      const chunks = [];
      for await (const chunk of body) chunks.push(Buffer.from(chunk));
      body = Buffer.concat(chunks).toString("utf8");
    }
    seen.push({ url, method: init.method, headers: init.headers, body, init });
    return new Response(reply.body, {
      status: reply.status,
      headers: { "content-type": "application/json", ...(reply.headers ?? {}) },
    });
  };
  return { seen, client: new Client({ baseUrl: "http://gw.example:8080/api/v1/", apiKey: "gw_k", fetch }) };
}

function formParts(contentType, body) {
  const boundary = /boundary=(.+)$/.exec(contentType)[1];
  assert.ok(body.endsWith(`\r\n--${boundary}--\r\n`));
  return body
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((part) => {
      const [head, ...rest] = part.slice(2, -2).split("\r\n\r\n");
      const name = /name="([^"]*)"/.exec(head)[1];
      const filename = /filename="([^"]*)"/.exec(head)?.[1] ?? null;
      return { name, filename, value: rest.join("\r\n\r\n") };
    });
}

describe("create() on the wire", () => {
  it("sends every option under its API name, then the file", async () => {
    const { seen, client } = recording();
    await client.campaigns.create({
      name: "Spring",
      contacts: Buffer.from("phone_number\n+14155550100\n"),
      agentId: "ivr",
      phoneNumberId: "main",
      maxConcurrentCalls: 7,
      retriesPerContact: 2,
      retryDelaySeconds: 600,
      scheduledAt: new Date("2031-02-03T04:05:06.789Z"),
      maxCallsPerSecond: 1.5,
      ringTimeoutSeconds: 20,
      timezone: "Europe/Paris",
      callingWindowStart: "09:00",
      callingWindowEnd: "18:30",
      retryOn: ["busy", "no_answer"],
      amd: true,
      machineAgentId: "voicemail",
    });
    const [request] = seen;
    assert.equal(request.url, "http://gw.example:8080/api/v1/campaigns");
    assert.equal(request.method, "POST");
    assert.equal(request.headers.Authorization, "Bearer gw_k");
    assert.equal(request.init.redirect, "error"); // see src/transport.js: no tee of the body
    assert.equal(Number(request.headers["Content-Length"]), Buffer.byteLength(request.body));
    const parts = formParts(request.headers["Content-Type"], request.body);
    assert.deepEqual(
      parts.map((p) => [p.name, p.value]),
      [
        ["name", "Spring"],
        ["agent_id", "ivr"],
        ["phone_number_id", "main"],
        ["max_concurrent_calls", "7"],
        ["retries_per_contact", "2"],
        ["retry_delay_seconds", "600"],
        ["scheduled_at", "2031-02-03T04:05:06.789Z"],
        ["max_calls_per_second", "1.5"],
        ["ring_timeout_seconds", "20"],
        ["timezone", "Europe/Paris"],
        ["calling_window_start", "09:00"],
        ["calling_window_end", "18:30"],
        ["retry_on", "busy,no_answer"],
        ["amd", "on"],
        ["machine_agent_id", "voicemail"],
        ["contacts", "phone_number\n+14155550100\n"],
      ],
    );
    assert.equal(parts.at(-1).filename, "contacts.csv");
  });

  it("leaves out what is not given, and names the file as it was named", async () => {
    const { seen, client } = recording();
    await client.campaigns.create({ name: "x", contacts: new File(["phone_number\n"], "dir/list.csv"), agentId: undefined, amd: false, retryOn: "busy" });
    await client.campaigns.create({ name: 'q"\r\n', contacts: Readable.from(["phone_", "number\n"]) });
    const first = formParts(seen[0].headers["Content-Type"], seen[0].body);
    assert.deepEqual(first.map((p) => [p.name, p.value]), [["name", "x"], ["amd", "off"], ["retry_on", "busy"], ["contacts", "phone_number\n"]]);
    assert.equal(first.at(-1).filename, "list.csv");
    const second = formParts(seen[1].headers["Content-Type"], seen[1].body);
    assert.equal(seen[1].headers["Content-Length"], undefined); // a stream: chunked
    assert.deepEqual(second.map((p) => p.value), ['q"\r\n', "phone_number\n"]);
  });

  it("refuses what it cannot send, before any request", async () => {
    const { seen, client } = recording();
    const csv = Buffer.from("phone_number\n");
    await assert.rejects(client.campaigns.create({ contacts: csv }), /name is required/);
    await assert.rejects(client.campaigns.create({ name: "x" }), /contacts is required/);
    await assert.rejects(client.campaigns.create({ name: "x", contacts: csv, maxConcurentCalls: 3 }), /unknown option "maxConcurentCalls"/);
    await assert.rejects(client.campaigns.create({ name: "x", contacts: 42 }), /give a file path, a Buffer, a Blob or a Readable/);
    await assert.rejects(client.campaigns.create({ name: "x", contacts: "/no/such/file.csv" }), { code: "ENOENT" });
    await assert.rejects(client.campaigns.create({ name: "x", contacts: csv, scheduledAt: new Date("nope") }), /invalid Date/);
    await assert.rejects(client.campaigns.get(""), TypeError);
    assert.equal(seen.length, 0);
  });
});

describe("errors", () => {
  it("map each status to its class, all GatewayError with status and message", () => {
    const cases = [
      [400, BadRequestError],
      [401, AuthenticationError],
      [404, NotFoundError],
      [409, ConflictError],
      [429, RateLimitError],
      [500, ServerError],
      [503, ServerError],
      [507, ServerError],
      [418, GatewayError],
    ];
    for (const [status, Kind] of cases) {
      const error = errorFor(status, JSON.stringify({ error: `it is ${status}` }));
      assert.equal(error.constructor, Kind, String(status));
      assert.ok(error instanceof GatewayError && error instanceof Error);
      assert.equal(error.status, status);
      assert.equal(error.message, `it is ${status}`);
      assert.equal(error.name, Kind.name);
    }
    const bad = errorFor(400, JSON.stringify({ error: "contacts: row 3: x", field: "contacts", row: 3 }));
    assert.deepEqual([bad.field, bad.row], ["contacts", 3]);
    const plain = errorFor(400, JSON.stringify({ error: "no field" }));
    assert.deepEqual([plain.field, plain.row], [null, null]);
    assert.equal(errorFor(502, "<html>Bad gateway</html>").message, "<html>Bad gateway</html>");
    assert.equal(errorFor(502, "", { statusText: "Bad Gateway" }).message, "Bad Gateway");
    assert.equal(errorFor(429, "{}", { retryAfter: "3" }).retryAfter, 3);
    assert.equal(new ConnectionError("down").status, null);
  });

  it("a 413 is a GatewayError with its status and a message that says what to do", () => {
    const server = errorFor(413, JSON.stringify({ error: "Request Entity Too Large" }));
    assert.equal(server.constructor, GatewayError);
    assert.equal(server.status, 413);
    assert.match(server.message, /^request body too large \(Request Entity Too Large\): over what the gateway, or a proxy/);
    assert.match(server.message, /dnc\.import\(\) streams a CSV/);
    const proxy = errorFor(413, "<html>413 Request Entity Too Large</html>", { statusText: "Payload Too Large" });
    assert.equal(proxy.status, 413);
    assert.match(proxy.message, /^request body too large \(<html>413 Request Entity Too Large<\/html>\)/);
    assert.match(errorFor(413, "").message, /^request body too large \(HTTP 413\)/);
  });

  it("come from the response of the server", async () => {
    const { client } = recording({ status: 429, body: JSON.stringify({ error: "too many" }), headers: { "retry-after": "2" } });
    await assert.rejects(client.campaigns.list(), (error) => {
      assert.ok(error instanceof RateLimitError);
      assert.deepEqual([error.status, error.message, error.retryAfter], [429, "too many", 2]);
      return true;
    });
  });
});

describe("Client", () => {
  it("falls back to GATEWAY_URL and GATEWAY_API_KEY", async () => {
    const saved = { url: process.env.GATEWAY_URL, key: process.env.GATEWAY_API_KEY };
    try {
      process.env.GATEWAY_URL = "http://from-env:1234/";
      process.env.GATEWAY_API_KEY = "gw_env";
      const seen = [];
      const fetch = async (url, init) => {
        seen.push([url, init.headers.Authorization]);
        return new Response('{"campaigns":[],"total":0}', { headers: { "content-type": "application/json" } });
      };
      assert.deepEqual(await new Client({ fetch }).campaigns.list({ limit: 5, page: 2 }), { campaigns: [], total: 0 });
      await new Client({ baseUrl: "http://given:1", fetch }).campaigns.list();
      await new Client({ apiKey: "gw_given", fetch }).campaigns.list();
      assert.deepEqual(seen, [
        ["http://from-env:1234/api/v1/campaigns?limit=5&page=2", "Bearer gw_env"],
        ["http://given:1/api/v1/campaigns", "Bearer gw_env"],
        ["http://from-env:1234/api/v1/campaigns", "Bearer gw_given"],
      ]);
      delete process.env.GATEWAY_API_KEY;
      assert.throws(() => new Client(), /no API key/);
      delete process.env.GATEWAY_URL;
      assert.equal(new Client({ apiKey: "k" }).baseUrl, "http://127.0.0.1:8080");
      assert.throws(() => new Client({ apiKey: "k", baseUrl: "ftp://x" }), /http or https/);
    } finally {
      for (const [name, value] of [["GATEWAY_URL", saved.url], ["GATEWAY_API_KEY", saved.key]]) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it("never shows its key", async () => {
    const { inspect } = await import("node:util");
    const client = new Client({ baseUrl: "http://h:1", apiKey: "gw_secret_key" });
    for (const text of [inspect(client, { depth: 10, showHidden: true }), JSON.stringify(client), String(Object.values(client))]) {
      assert.ok(!text.includes("gw_secret_key"), text);
    }
    assert.ok(!inspect(client.campaigns, { depth: 10, showHidden: true }).includes("gw_secret_key"));
  });
});

describe("a failing source", () => {
  it("rejects with the source's own error, not a network error", async () => {
    const { client } = recording();
    const broken = new Readable({
      read() {
        this.destroy(new Error("disk on fire"));
      },
    });
    await assert.rejects(client.campaigns.create({ name: "x", contacts: broken }), /disk on fire/);
  });
});
