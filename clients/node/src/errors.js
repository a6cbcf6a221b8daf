// The client's errors: GatewayError and one subclass per kind of failure.

/** An API call failed. `status` is the HTTP status (null when no response came). */
export class GatewayError extends Error {
  constructor(message, { status = null, body = null, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    this.status = status;
    this.body = body !== null && typeof body === "object" && !Array.isArray(body) ? body : {};
  }
}

/** 400: `field` names the offending form field or parameter, `row` the CSV row. */
export class BadRequestError extends GatewayError {
  get field() {
    return typeof this.body.field === "string" ? this.body.field : null;
  }

  get row() {
    return Number.isInteger(this.body.row) ? this.body.row : null;
  }
}

/** 401: missing, wrong or revoked API key. */
export class AuthenticationError extends GatewayError {}

/** 404: no such campaign, contact or number (or it belongs to another tenant). */
export class NotFoundError extends GatewayError {}

/** 409: not allowed in the campaign's current state, or over the tenant's budget. */
export class ConflictError extends GatewayError {}

/** 429: too many requests (e.g. open event streams); `retryAfter` in seconds when sent. */
export class RateLimitError extends GatewayError {
  constructor(message, options = {}) {
    super(message, options);
    this.retryAfter = options.retryAfter ?? null;
  }
}

/** 5xx: the gateway failed (507: its storage is full; 503: unavailable). */
export class ServerError extends GatewayError {}

/** The gateway could not be reached, the connection broke, or it timed out. */
export class ConnectionError extends GatewayError {}

const BY_STATUS = new Map([
  [400, BadRequestError],
  [401, AuthenticationError],
  [404, NotFoundError],
  [409, ConflictError],
  [429, RateLimitError],
]);

/**
 * The typed error for an error response whose body text is `text`
 * (`{"error": "..."}` when it is the gateway's JSON).
 */
export function errorFor(status, text, { statusText = "", retryAfter = null } = {}) {
  let body = null;
  let message = "";
  try {
    body = JSON.parse(text);
    message = typeof body?.error === "string" ? body.error : "";
  } catch {
    body = null;
  }
  if (!message) {
    message = (body === null ? String(text ?? "").trim().slice(0, 500) : "") || statusText;
  }
  if (status === 413) {
    // aiohttp's own refusal (or a proxy's): its text names no limit and no way out.
    message =
      `request body too large (${message || "HTTP 413"}): over what the gateway, or a proxy ` +
      "before it, accepts in one request; dnc.add() sends JSON of at most 1 MiB, " +
      "dnc.import() streams a CSV";
  }
  const Kind = status >= 500 ? ServerError : (BY_STATUS.get(status) ?? GatewayError);
  const options = { status, body };
  if (Kind === RateLimitError) options.retryAfter = parseRetryAfter(retryAfter);
  return new Kind(message || `HTTP ${status}`, options);
}

function parseRetryAfter(value) {
  if (value === null || value === undefined || value === "") return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const when = Date.parse(value);
  return Number.isNaN(when) ? null : Math.max(0, (when - Date.now()) / 1000);
}
