// Client: the entry point, configured from its options or the environment.

import { inspect } from "node:util";
import { Campaigns } from "./campaigns.js";
import { Dnc } from "./dnc.js";
import { ServerError } from "./errors.js";
import { DEFAULT_TIMEOUT, Transport } from "./transport.js";

export const DEFAULT_URL = "http://127.0.0.1:8080";

function normalise(baseUrl) {
  let url = String(baseUrl).trim().replace(/\/+$/, "");
  if (url.endsWith("/api/v1")) url = url.slice(0, -"/api/v1".length);
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`baseUrl: not a URL: ${JSON.stringify(String(baseUrl))}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new TypeError(`baseUrl: give an http or https URL, not ${parsed.protocol}`);
  }
  return url;
}

export class Client {
  #transport;

  /**
   * `baseUrl` (default $GATEWAY_URL, else http://127.0.0.1:8080) and `apiKey` (default
   * $GATEWAY_API_KEY; required). `timeout`: ms a request may wait without progress.
   */
  constructor({ baseUrl, apiKey, timeout = DEFAULT_TIMEOUT, fetch } = {}) {
    const key = apiKey || process.env.GATEWAY_API_KEY;
    if (!key) throw new TypeError("no API key: pass { apiKey } or set GATEWAY_API_KEY");
    if (!(Number.isFinite(timeout) && timeout >= 0)) {
      throw new TypeError("timeout: give a number of milliseconds (0: none)");
    }
    this.baseUrl = normalise(baseUrl || process.env.GATEWAY_URL || DEFAULT_URL);
    this.#transport = new Transport(this.baseUrl, String(key), timeout, fetch);
    this.campaigns = new Campaigns(this.#transport);
    this.dnc = new Dnc(this.#transport);
  }

  get timeout() {
    return this.#transport.timeout;
  }

  /** `{ agents: [ids], phone_numbers: [ids] }`: what a campaign may name. */
  async options() {
    return this.#transport.request("GET", "/options");
  }

  /** GET /healthz: `{ status: "ok" }` while the daemon answers (no key needed). */
  async health() {
    return this.#transport.request("GET", "/healthz", { auth: false, root: true });
  }

  /**
   * GET /readyz: `{ status, checks }`, `status` "ok" or, when the daemon is not ready
   * (503), "unavailable" with what is wrong in `checks`.
   */
  async ready() {
    try {
      return await this.#transport.request("GET", "/readyz", { auth: false, root: true });
    } catch (error) {
      if (error instanceof ServerError && error.status === 503 && error.body.checks) {
        return error.body;
      }
      throw error;
    }
  }

  /** GET /api/v1/openapi.json: the API's OpenAPI 3 document. */
  async openapi() {
    return this.#transport.request("GET", "/api/v1/openapi.json", { auth: false, root: true });
  }

  /** GET /metrics: Prometheus text. */
  async metrics() {
    return this.#transport.request("GET", "/metrics", { auth: false, root: true });
  }

  [inspect.custom]() {
    return `Client { baseUrl: ${JSON.stringify(this.baseUrl)} }`;
  }

  toJSON() {
    return { baseUrl: this.baseUrl };
  }
}
