// campaign-gateway: the Node.js client of the campaign gateway's HTTP API.

export { Client, DEFAULT_URL } from "./client.js";
export { MAX_RECONNECT_DELAY, STREAM_READ_TIMEOUT } from "./campaigns.js";
export {
  AuthenticationError,
  BadRequestError,
  ConflictError,
  ConnectionError,
  GatewayError,
  NotFoundError,
  RateLimitError,
  ServerError,
} from "./errors.js";
export { SSEParser } from "./sse.js";
export { DEFAULT_TIMEOUT, VERSION } from "./transport.js";
