// client.campaigns: the campaigns API, their contacts and their live events.

import { Readable } from "node:stream";
import { ConnectionError, GatewayError, ServerError } from "./errors.js";
import { fileSource } from "./multipart.js";
import { SSEParser } from "./sse.js";
import { IdleTimer, segment } from "./transport.js";

/** Reading an event stream: no byte for this long (the server's heartbeat is 15 s) is a drop. */
export const STREAM_READ_TIMEOUT = 45_000;
/** The longest wait between two reconnections of an event stream. */
export const MAX_RECONNECT_DELAY = 10_000;

// create()'s options and the form field each is sent as.
const FORM_FIELDS = {
  name: "name",
  agentId: "agent_id",
  phoneNumberId: "phone_number_id",
  maxConcurrentCalls: "max_concurrent_calls",
  retriesPerContact: "retries_per_contact",
  retryDelaySeconds: "retry_delay_seconds",
  scheduledAt: "scheduled_at",
  maxCallsPerSecond: "max_calls_per_second",
  ringTimeoutSeconds: "ring_timeout_seconds",
  timezone: "timezone",
  callingWindowStart: "calling_window_start",
  callingWindowEnd: "calling_window_end",
  retryOn: "retry_on",
  amd: "amd",
  machineAgentId: "machine_agent_id",
};

function formValue(option, value) {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new TypeError(`${option}: an invalid Date`);
    return value.toISOString();
  }
  if (option === "retryOn" && Array.isArray(value)) return value.join(",");
  if (option === "amd" && typeof value === "boolean") return value ? "on" : "off";
  if (typeof value === "object") throw new TypeError(`${option}: give a string or a number`);
  return String(value);
}

/** The form fields of create(), in order, as [name, text] pairs. */
export function createFields(options) {
  const fields = [];
  for (const [option, value] of Object.entries(options)) {
    if (option === "contacts") continue;
    const name = FORM_FIELDS[option];
    if (name === undefined) {
      const known = Object.keys(FORM_FIELDS).join(", ");
      throw new TypeError(`create(): unknown option ${JSON.stringify(option)} (known: contacts, ${known})`);
    }
    if (value !== undefined && value !== null) fields.push([name, formValue(option, value)]);
  }
  return fields;
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

export class Campaigns {
  #transport;

  constructor(transport) {
    this.#transport = transport;
  }

  /** `{ campaigns, total }`, newest first. */
  async list({ limit, offset, page } = {}) {
    return this.#transport.request("GET", "/campaigns", { query: { limit, offset, page } });
  }

  /**
   * Uploads `contacts` (a CSV with a phone_number column: a path, Buffer, Blob or
   * Readable stream; a path or a stream is streamed, never read whole) as a new draft
   * campaign; every other option is sent as its API form field. The answer also carries
   * an `import` report.
   */
  async create(options = {}) {
    if (options === null || typeof options !== "object") {
      throw new TypeError("create(): give an object { name, contacts, ... }");
    }
    if (typeof options.name !== "string" || options.name.trim() === "") {
      throw new TypeError("create(): name is required");
    }
    if (options.contacts === undefined || options.contacts === null) {
      throw new TypeError("create(): contacts is required: a CSV file path, Buffer, Blob or Readable");
    }
    const fields = createFields(options);
    const source = await fileSource(options.contacts, "contacts", "contacts.csv");
    return this.#transport.request("POST", "/campaigns", {
      multipart: { fields, file: { name: "contacts", source } },
    });
  }

  async get(id) {
    return this.#transport.request("GET", `/campaigns/${segment(id, "id")}`);
  }

  /** Deletes a campaign that is not running (a running one: ConflictError). */
  async delete(id) {
    await this.#transport.request("DELETE", `/campaigns/${segment(id, "id")}`);
  }

  async start(id) {
    return this.#command(id, "start");
  }

  async pause(id) {
    return this.#command(id, "pause");
  }

  async resume(id) {
    return this.#command(id, "resume");
  }

  async stop(id) {
    return this.#command(id, "stop");
  }

  async #command(id, action) {
    return this.#transport.request("POST", `/campaigns/${segment(id, "id")}/${action}`);
  }

  /** `{ contacts, total }`, optionally only those in `status`. */
  async listContacts(id, { status, limit, offset, page } = {}) {
    const query = { status, limit, offset, page };
    return this.#transport.request("GET", `/campaigns/${segment(id, "id")}/contacts`, { query });
  }

  /** One contact, with its `attempts` and `decisions`. */
  async getContact(id, contactId) {
    const path = `/campaigns/${segment(id, "id")}/contacts/${segment(contactId, "contactId")}`;
    return this.#transport.request("GET", path);
  }

  /**
   * The campaign's contacts with their outcomes as CSV (the list's filters: `status`,
   * and `limit` / `offset` / `page`, else every contact): a Readable of the bytes as they
   * arrive, never the whole file in memory. Errors (404, 400) are thrown before it is
   * returned; a download cut short errors the stream with ConnectionError.
   */
  async exportContacts(id, { status, limit, offset, page, signal } = {}) {
    const transport = this.#transport;
    const timer = new IdleTimer(transport.timeout, signal);
    let response;
    try {
      response = await transport.send("GET", `/campaigns/${segment(id, "id")}/contacts.csv`, {
        query: { status, limit, offset, page },
        headers: { Accept: "text/csv" },
        timer,
      });
    } catch (error) {
      timer.clear();
      throw error;
    }
    async function* bytes() {
      try {
        for await (const chunk of response.body) {
          timer.touch();
          yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        }
      } catch (error) {
        throw transport.failure(error, timer);
      } finally {
        timer.clear();
        timer.abort(); // the reader left early: close the connection
      }
    }
    return Readable.from(bytes(), { objectMode: false });
  }

  /**
   * The campaign's events, `{ id, event, data }`, until (and including) `end`. A dropped
   * connection is re-opened with Last-Event-ID, so no stored event is lost or repeated;
   * after `maxRetries` failed attempts in a row (waits doubling from `retryDelay` ms, at
   * most 10 s) it throws ConnectionError. Without `lastEventId` it starts from now (`0`
   * replays the whole history), after the campaign's last `history` contact transitions
   * when that is given (1 to 1000). When `signal` aborts, the iteration ends.
   */
  async *streamEvents(id, options = {}) {
    const {
      lastEventId = null,
      history = null,
      signal,
      maxRetries = 5,
      retryDelay = 500,
      readTimeout = STREAM_READ_TIMEOUT,
      onReconnect,
    } = options;
    const transport = this.#transport;
    // The server uses history only without Last-Event-ID: a reconnect resumes where it was.
    const query = history === null || history === undefined ? "" : `?history=${encodeURIComponent(history)}`;
    const path = `/campaigns/${segment(id, "id")}/events${query}`;
    let last = lastEventId;
    let failures = 0;
    while (!signal?.aborted) {
      let reason;
      const timer = new IdleTimer(transport.timeout, signal);
      try {
        const headers = { Accept: "text/event-stream", "Cache-Control": "no-cache" };
        if (last !== null && last !== undefined) headers["Last-Event-ID"] = String(last);
        const response = await transport.send("GET", path, { headers, timer });
        timer.ms = readTimeout;
        timer.touch();
        const parser = new SSEParser();
        const decoder = new TextDecoder();
        for await (const chunk of response.body) {
          timer.touch();
          for (const event of parser.feed(decoder.decode(chunk, { stream: true }))) {
            if (event.id !== null) last = event.id;
            failures = 0;
            timer.pause(); // a reader slow to take the next event is not a dead connection
            yield event;
            timer.touch();
            if (event.event === "end") return;
          }
          if (parser.lastId !== null) last = parser.lastId;
        }
        reason = "the stream closed before the end event";
      } catch (error) {
        if (signal?.aborted) return;
        if (error instanceof GatewayError && !(error instanceof ConnectionError || error instanceof ServerError)) {
          throw error; // 400, 401, 404, 429: trying again would not help
        }
        reason =
          error instanceof ServerError
            ? `${error.status}: ${error.message}`
            : transport.failure(error, timer).message;
      } finally {
        timer.clear();
        timer.abort(); // ends the connection if the reader left early or it failed
      }
      failures += 1;
      if (failures > maxRetries) {
        throw new ConnectionError(`event stream lost after ${maxRetries} retries: ${reason}`);
      }
      const delay = Math.min(retryDelay * 2 ** (failures - 1), MAX_RECONNECT_DELAY);
      onReconnect?.({ attempt: failures, delay, reason, lastEventId: last });
      await sleep(delay, signal);
    }
  }
}
