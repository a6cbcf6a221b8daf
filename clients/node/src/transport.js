// HTTP to the gateway on Node's own fetch: the API key, timeouts, typed errors.

import { ConnectionError, errorFor } from "./errors.js";
import { multipartBody } from "./multipart.js";

export const VERSION = "0.1.0";
export const DEFAULT_TIMEOUT = 30_000;

class Timeout extends Error {}

/**
 * An abort that fires after `ms` without progress: `touch()` restarts the wait, so a
 * large upload or a long download is never cut while bytes move. `signal` aborts when
 * the timer fires or when `outer` (the caller's AbortSignal) does.
 */
export class IdleTimer {
  constructor(ms, outer) {
    this.ms = ms;
    this._controller = new AbortController();
    this.signal = this._controller.signal;
    this.outer = outer ?? null;
    this._onOuter = () => this._controller.abort(outer.reason);
    if (this.outer) {
      if (this.outer.aborted) this._controller.abort(this.outer.reason);
      else this.outer.addEventListener("abort", this._onOuter, { once: true });
    }
    this._timer = null;
    this.touch();
  }

  touch() {
    if (this._timer !== null) clearTimeout(this._timer);
    this._timer = null;
    if (this.ms > 0 && !this.signal.aborted) {
      this._timer = setTimeout(
        () => this._controller.abort(new Timeout(`no answer within ${this.ms} ms`)),
        this.ms,
      );
    }
  }

  /** Stops the clock until the next touch() (while the caller's reader holds an event). */
  pause() {
    if (this._timer !== null) clearTimeout(this._timer);
    this._timer = null;
  }

  abort(reason) {
    this._controller.abort(reason);
  }

  get timedOut() {
    return this.signal.reason instanceof Timeout;
  }

  clear() {
    if (this._timer !== null) clearTimeout(this._timer);
    this._timer = null;
    this.outer?.removeEventListener("abort", this._onOuter);
  }
}

function detail(error) {
  const cause = error?.cause;
  const parts = [];
  if (cause?.code) parts.push(cause.code);
  if (cause?.message && cause.message !== cause.code) parts.push(cause.message);
  if (parts.length === 0 && error?.message) parts.push(error.message);
  return parts.join(": ") || String(error);
}

/** Path segment: an id as it goes in a URL (never empty: that would name another route). */
export function segment(value, what) {
  if ((typeof value !== "string" && typeof value !== "number") || String(value) === "") {
    throw new TypeError(`${what}: give a non-empty string`);
  }
  return encodeURIComponent(String(value));
}

export class Transport {
  #apiKey;

  constructor(baseUrl, apiKey, timeout, fetchImpl) {
    this.baseUrl = baseUrl;
    this.timeout = timeout;
    this.#apiKey = apiKey;
    this._fetch = fetchImpl ?? globalThis.fetch;
  }

  /** The URL of an API path (`/campaigns`), or of a path at the root with `root`. */
  url(path, query, root = false) {
    let url = this.baseUrl + (root ? path : `/api/v1${path}`);
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null) params.append(name, String(value));
    }
    const text = params.toString();
    if (text) url += `?${text}`;
    return url;
  }

  headers(extra = {}, auth = true) {
    const headers = { "User-Agent": `campaign-gateway-node/${VERSION}`, ...extra };
    if (auth) headers.Authorization = `Bearer ${this.#apiKey}`;
    return headers;
  }

  /**
   * Sends a request; returns the Response of a success (status < 400), after the
   * headers. Throws the typed error of an error response, ConnectionError when no
   * response came, and the caller's abort reason when its `signal` fired.
   * `timer` (an IdleTimer) bounds the wait; the caller clears it.
   */
  async send(method, path, { query, headers, body, duplex, timer, auth = true, root = false } = {}) {
    const init = { method, headers: this.headers(headers, auth), signal: timer.signal };
    if (body !== undefined) init.body = body;
    if (duplex) {
      init.duplex = duplex;
      // A streamed body cannot be sent again after a redirect anyway; and only with
      // "error" does Node's fetch (undici 6) skip cloning the request, whose clone tees
      // the body stream and keeps every chunk of the upload in memory (undici #4058).
      init.redirect = "error";
    }
    let response;
    try {
      response = await this._fetch(this.url(path, query, root), init);
    } catch (error) {
      throw this.failure(error, timer);
    }
    if (response.status >= 400) {
      let text = "";
      try {
        text = await response.text();
      } catch {
        // the body was cut: the status says enough
      }
      throw errorFor(response.status, text, {
        statusText: response.statusText,
        retryAfter: response.headers.get("retry-after"),
      });
    }
    return response;
  }

  /** The error for a failed fetch or body read: the caller's abort reason, or ours. */
  failure(error, timer) {
    if (timer.outer?.aborted) return timer.outer.reason;
    if (error instanceof ConnectionError) return error;
    const what = timer.timedOut ? `timed out (${timer.ms} ms without progress)` : detail(error);
    return new ConnectionError(`cannot reach ${this.baseUrl}: ${what}`, { cause: error });
  }

  /** A JSON request: the parsed body (undefined for 204 or an empty body). */
  async request(method, path, { query, json, multipart, signal, auth = true, root = false } = {}) {
    const timer = new IdleTimer(this.timeout, signal);
    let form = null;
    try {
      const options = { query, timer, auth, root, headers: { Accept: "application/json" } };
      if (json !== undefined) {
        options.headers["Content-Type"] = "application/json";
        options.body = JSON.stringify(json);
      } else if (multipart !== undefined) {
        form = multipartBody(multipart.fields, multipart.file, {
          onPull: () => timer.touch(),
        });
        options.headers["Content-Type"] = form.contentType;
        if (form.length !== null) options.headers["Content-Length"] = String(form.length);
        options.body = form.body;
        options.duplex = "half";
      }
      let response;
      try {
        response = await this.send(method, path, options);
      } catch (error) {
        throw form?.sourceError ?? error; // the file failed, not the network
      }
      let text;
      try {
        text = await response.text();
      } catch (error) {
        throw this.failure(error, timer);
      }
      if (response.status === 204 || text === "") return undefined;
      const type = response.headers.get("content-type") ?? "";
      return type.includes("json") ? JSON.parse(text) : text;
    } finally {
      timer.clear();
      await form?.close().catch(() => {});
    }
  }
}
