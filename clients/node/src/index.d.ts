// Type declarations of campaign-gateway (the JavaScript beside them is the implementation).

import type { Readable } from "node:stream";

export declare const VERSION: string;
/** The URL used when neither `baseUrl` nor $GATEWAY_URL is given. */
export declare const DEFAULT_URL: string;
/** Milliseconds a request may wait without progress (connect, upload, answer). */
export declare const DEFAULT_TIMEOUT: number;
/** Milliseconds without a byte after which an event stream counts as dropped. */
export declare const STREAM_READ_TIMEOUT: number;
/** The longest wait, in milliseconds, between two reconnections of an event stream. */
export declare const MAX_RECONNECT_DELAY: number;

export interface ClientOptions {
  /** Default: $GATEWAY_URL, else http://127.0.0.1:8080. A trailing /api/v1 is allowed. */
  baseUrl?: string;
  /** Default: $GATEWAY_API_KEY. Required one way or the other. */
  apiKey?: string;
  /** Milliseconds a request may wait without progress; 0: no limit. Default 30000. */
  timeout?: number;
  /** A fetch of your own (default: Node's global fetch). */
  fetch?: typeof globalThis.fetch;
}

export type CampaignStatus = "draft" | "scheduled" | "running" | "paused" | "stopped" | "completed";
export type ContactStatus = "pending" | "originated" | "connected" | "completed" | "failed" | "cancelled";
export type Outcome =
  | "answered"
  | "busy"
  | "no_answer"
  | "rejected"
  | "invalid_number"
  | "congestion"
  | "failed"
  | "lost"
  | "do_not_call"
  | "machine"
  | (string & {});
/** What a contact event's `outcome` may say: an Outcome, or `not_sent` (an Originate that never left). */
export type EventOutcome = Outcome | "not_sent";
/** The outcomes `retry_on` may name (`machine`: answered by a machine, no machine agent). */
export type RetryOutcome = "busy" | "no_answer" | "congestion" | "failed" | "machine" | (string & {});
/** Who answered, per answering-machine detection (AMDSTATUS HUMAN, MACHINE; NOTSURE, HANGUP: unknown). */
export type AnsweredBy = "human" | "machine" | "unknown";

export interface Counts {
  total: number;
  pending: number;
  originated: number;
  connected: number;
  completed: number;
  failed: number;
  cancelled: number;
}

/** A campaign as the API returns it (the server's names). */
export interface Campaign {
  id: string;
  name: string;
  status: CampaignStatus;
  agent_id: string;
  phone_number_id: string;
  max_concurrent_calls: number;
  retries_per_contact: number;
  retry_delay_seconds: number;
  scheduled_at: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  created_by: string;
  max_calls_per_second: number | null;
  ring_timeout_seconds: number;
  timezone: string;
  calling_window_start: string | null;
  calling_window_end: string | null;
  /** The outcomes a failed attempt is retried on. */
  retry_on: RetryOutcome[];
  /** Answering-machine detection. */
  amd: "on" | "off";
  /** The agent that takes calls answered by a machine; null: a machine is hung up on. */
  machine_agent_id: string | null;
  custom_field_names: string[];
  duplicates: number;
  counts: Counts;
  [field: string]: unknown;
}

export interface ImportReport {
  rows: number;
  contacts: number;
  duplicates: number;
  duplicate_rows: number[];
  /** Contacts on a do-not-call list at upload (stored failed, never dialled). */
  dnc: number;
  [field: string]: unknown;
}

export interface CreatedCampaign extends Campaign {
  import: ImportReport;
}

export interface CampaignList {
  campaigns: Campaign[];
  total: number;
}

/** A contact's fields but `attempts` (a count in a list, the attempts themselves in getContact()). */
export interface ContactFields {
  id: number;
  campaign_id: string;
  phone_number: string;
  status: ContactStatus;
  custom_fields: Record<string, string>;
  last_outcome: Outcome | null;
  hangup_cause: number | null;
  hangup_cause_text: string | null;
  /** The SIP answer code of the last attempt, as text (e.g. "486"). */
  sip_code: string | null;
  talk_seconds: number | null;
  next_attempt_at: string | null;
  /** The zones its calling window is evaluated in. */
  timezones: string[];
  opted_out: boolean;
  /** Who answered its last attempt (null when AMD is off or the call was not answered). */
  answered_by: AnsweredBy | null;
  /** AMDCAUSE as Asterisk gave it, e.g. "HUMAN-800-800" (null without a verdict). */
  amd_cause: string | null;
  /** The Asterisk node its latest attempt went to (null before its first attempt). */
  node: string | null;
  row_number: number;
  created_at: string;
  /** Its last change (null until its first: a contact never dialled). */
  updated_at: string | null;
  [field: string]: unknown;
}

/** A contact as listContacts() gives it. */
export interface Contact extends ContactFields {
  /** Attempts made so far. */
  attempts: number;
}

export interface ContactList {
  contacts: Contact[];
  total: number;
}

export interface Attempt {
  number: number;
  started_at: string | null;
  ended_at: string | null;
  outcome: Outcome | null;
  hangup_cause: number | null;
  sip_code: string | null;
  talk_seconds: number | null;
  /** The Asterisk node it was sent to. */
  node: string | null;
  /** Who answered this attempt, per answering-machine detection (null: AMD off or not answered). */
  answered_by: AnsweredBy | null;
  /** AMDCAUSE of this attempt's verdict (null: no verdict, or Asterisk gave no cause). */
  amd_cause: string | null;
  [field: string]: unknown;
}

export interface Decision {
  time: string;
  decision: "dialled" | "deferred_window" | "skipped_dnc" | "retry_scheduled" | "not_retried" | "cancelled" | (string & {});
  detail: string;
  [field: string]: unknown;
}

/** getContact(): the contact with its attempts and the trail of decisions, oldest first. */
export interface ContactDetail extends ContactFields {
  /** Its attempts (Contact's `attempts` count is `attempts_made` here). */
  attempts: Attempt[];
  attempts_made: number;
  decisions: Decision[];
}

/** A CSV: a file path (string or file: URL), bytes, a Blob, or a stream of bytes. */
export type FileSource =
  | string
  | URL
  | Buffer
  | Uint8Array
  | ArrayBuffer
  | Blob
  | Readable
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array | string>;

export interface CreateCampaignOptions {
  name: string;
  /** The CSV (a phone_number column, others become custom fields). A path or a stream is streamed. */
  contacts: FileSource;
  agentId?: string;
  phoneNumberId?: string;
  maxConcurrentCalls?: number;
  retriesPerContact?: number;
  retryDelaySeconds?: number;
  /** A Date, or RFC 3339 text with an offset. */
  scheduledAt?: Date | string;
  maxCallsPerSecond?: number;
  ringTimeoutSeconds?: number;
  timezone?: string;
  /** HH:MM */
  callingWindowStart?: string;
  /** HH:MM */
  callingWindowEnd?: string;
  /** Outcomes to retry (sent comma-separated as `retry_on`). */
  retryOn?: RetryOutcome[] | string;
  /** Answering-machine detection: true / "on", false / "off". */
  amd?: boolean | "on" | "off";
  machineAgentId?: string;
}

export interface Paging {
  limit?: number;
  offset?: number;
  /** The reference's page, of `limit` (default 100) each; not with `offset`. */
  page?: number;
}

export interface ListContactsOptions extends Paging {
  status?: ContactStatus;
}

/** `campaign`: a status change (stored, with an id). */
export interface CampaignEventData {
  campaign_id: string;
  from: CampaignStatus;
  to: CampaignStatus;
  time: string;
  [field: string]: unknown;
}

/** `contact`: a contact's transition (stored, with an id). */
export interface ContactEventData {
  campaign_id: string;
  contact_id: number;
  phone_number: string;
  from: ContactStatus;
  to: ContactStatus;
  /** Its attempt's number (0 before the first). */
  attempt: number;
  outcome: EventOutcome | null;
  hangup_cause: number | null;
  time: string;
  /** The SIP answer code of the attempt's end, when there was one. */
  sip_code?: string;
  /** Why the attempt ended so, when the gateway knows (e.g. an Originate refused). */
  reason?: string;
  /** Set once answering-machine detection judged the call. */
  answered_by?: AnsweredBy;
  /** The Asterisk node of the attempt (absent on a transition no attempt made). */
  node?: string;
  [field: string]: unknown;
}

/** `amd`: answering-machine detection judged an answered call (stored, with an id). */
export interface AmdEventData {
  campaign_id: string;
  contact_id: number;
  phone_number: string;
  attempt: number;
  answered_by: AnsweredBy;
  amd_cause: string | null;
  time: string;
  [field: string]: unknown;
}

/** `opt_out`: the person asked during the call not to be called again (stored, with an id). */
export interface OptOutEventData {
  campaign_id: string;
  contact_id: number;
  phone_number: string;
  time: string;
  [field: string]: unknown;
}

/** `metrics`: a snapshot every 2 s while the campaign runs, and one before `end` (no id). */
export interface MetricsEventData {
  campaign_id: string;
  status: CampaignStatus;
  counts: Counts;
  /** Contacts originated or connected. */
  in_flight: number;
  answer_rate: number | null;
  average_talk_seconds: number | null;
  /** The share of judged calls answered by a machine (null before the first verdict). */
  machine_rate: number | null;
  calls_per_second: number;
  /** Contacts due but outside their calling window. */
  waiting_for_window: number;
  /** Its calls the dialler holds (absent from a gateway that does not dial). */
  calls_in_flight?: number;
  /** Its calls in flight on each Asterisk node that carries its number. */
  calls_by_node?: Record<string, number>;
  [field: string]: unknown;
}

/** `end`: the last event (no id): the campaign is terminal, or was deleted. */
export interface EndEventData {
  campaign_id: string;
  status: "completed" | "stopped" | "deleted";
  [field: string]: unknown;
}

/** Each event type the gateway sends, and its `data`. (Its `: heartbeat` comments are not events.) */
export interface EventDataByType {
  contact: ContactEventData;
  campaign: CampaignEventData;
  amd: AmdEventData;
  opt_out: OptOutEventData;
  metrics: MetricsEventData;
  end: EndEventData;
}
export type EventType = keyof EventDataByType;
/** The stored (replayable) event types: their `id` is the store's number. */
export type StoredEventType = "contact" | "campaign" | "amd" | "opt_out";

/**
 * One Server-Sent Event, narrowed by `event`: `id` is a number on stored events, null on
 * metrics and end; `data` is parsed from its JSON.
 */
export type GatewayEvent<K extends EventType = EventType> = K extends EventType
  ? { id: K extends StoredEventType ? number : null; event: K; data: EventDataByType[K] }
  : never;

/** An event as the SSE parser reads it, before it is known to be one of the gateway's. */
export interface SSEEvent {
  id: number | null;
  event: string;
  /** Parsed from the event's JSON (the text itself if it is not JSON). */
  data: unknown;
}

export interface ReconnectInfo {
  /** Failed attempts in a row so far (1 for the first reconnection). */
  attempt: number;
  /** Milliseconds until the next attempt. */
  delay: number;
  reason: string;
  /** The id the next attempt resumes after (sent as Last-Event-ID). */
  lastEventId: number | null;
}

export interface StreamEventsOptions {
  /** Resume after this event (0: the whole history). Default: from now. */
  lastEventId?: number | null;
  /** Without lastEventId: start with the campaign's last N contact transitions (1 to 1000). */
  history?: number | null;
  /** When it aborts, the iteration ends (no error). */
  signal?: AbortSignal;
  /** Failed attempts in a row before ConnectionError is thrown. Default 5. */
  maxRetries?: number;
  /** Milliseconds before the first reconnection, doubling after each failure (at most 10 s). Default 500. */
  retryDelay?: number;
  /** Milliseconds without a byte that count as a drop. Default 45000 (the server's heartbeat is every 15 s). */
  readTimeout?: number;
  /** Called before each reconnection. */
  onReconnect?: (info: ReconnectInfo) => void;
}

export interface ExportOptions extends ListContactsOptions {
  signal?: AbortSignal;
}

/** `client.campaigns` (a type only: reach it through a Client). */
export interface Campaigns {
  list(options?: Paging): Promise<CampaignList>;
  create(options: CreateCampaignOptions): Promise<CreatedCampaign>;
  get(id: string): Promise<Campaign>;
  delete(id: string): Promise<void>;
  start(id: string): Promise<Campaign>;
  pause(id: string): Promise<Campaign>;
  resume(id: string): Promise<Campaign>;
  stop(id: string): Promise<Campaign>;
  listContacts(id: string, options?: ListContactsOptions): Promise<ContactList>;
  getContact(id: string, contactId: number | string): Promise<ContactDetail>;
  /** The contacts as CSV, streamed: a Readable of Buffers. */
  exportContacts(id: string, options?: ExportOptions): Promise<Readable>;
  streamEvents(id: string, options?: StreamEventsOptions): AsyncGenerator<GatewayEvent, void, undefined>;
}

export interface DncEntry {
  phone_number: string;
  /** "" when none was given. */
  reason: string;
  created_at: string;
  [field: string]: unknown;
}

export interface DncList {
  numbers: DncEntry[];
  total: number;
}

export interface DncAddResult {
  added: number;
  already: number;
}

export interface DncListOptions extends Paging {
  /** Look up one number (normalised by the server). */
  phoneNumber?: string;
}

/** `client.dnc` (a type only: reach it through a Client). */
export interface Dnc {
  list(options?: DncListOptions): Promise<DncList>;
  add(phoneNumbers: string[] | string, options?: { reason?: string }): Promise<DncAddResult>;
  /** A CSV with a phone_number column, streamed in the file field `numbers`. */
  import(csv: FileSource, options?: { reason?: string }): Promise<DncAddResult>;
  remove(phoneNumber: string): Promise<void>;
}

export interface GatewayOptionsList {
  agents: string[];
  phone_numbers: string[];
}

export interface NodeState {
  state: "ready" | "connecting" | "reconciling";
  calls_in_flight: number;
  max_concurrent_calls: number;
  /** While it is not logged in: for how long, and the last error. */
  down_seconds?: number;
  error?: string;
}

export interface Readiness {
  status: "ok" | "unavailable";
  checks: Record<string, string>;
  /** Each Asterisk node's state, by node id. */
  nodes: Record<string, NodeState>;
}

export declare class Client {
  constructor(options?: ClientOptions);
  readonly baseUrl: string;
  readonly timeout: number;
  readonly campaigns: Campaigns;
  readonly dnc: Dnc;
  /** The agents and phone numbers a campaign may name. */
  options(): Promise<GatewayOptionsList>;
  health(): Promise<{ status: "ok" }>;
  ready(): Promise<Readiness>;
  openapi(): Promise<Record<string, unknown>>;
  metrics(): Promise<string>;
}

export interface ErrorBody {
  error?: string;
  field?: string;
  row?: number | null;
  [field: string]: unknown;
}

export interface GatewayErrorOptions {
  /** The HTTP status; null (the default) when no response came. */
  status?: number | null;
  /** The JSON error body; anything but a plain object is kept as {}. */
  body?: unknown;
  cause?: unknown;
}

export declare class GatewayError extends Error {
  constructor(message: string, options?: GatewayErrorOptions);
  /** The HTTP status; null when no response came. */
  readonly status: number | null;
  /** The server's message. */
  readonly message: string;
  /** The server's JSON error body ({} when there was none). */
  readonly body: ErrorBody;
}
/** 400: `field` names the form field or parameter, `row` the CSV row, when the server names them. */
export declare class BadRequestError extends GatewayError {
  readonly status: 400;
  readonly field: string | null;
  readonly row: number | null;
}
/** 401 */
export declare class AuthenticationError extends GatewayError {
  readonly status: 401;
}
/** 404 */
export declare class NotFoundError extends GatewayError {
  readonly status: 404;
}
/** 409 */
export declare class ConflictError extends GatewayError {
  readonly status: 409;
}
/** 429: `retryAfter` in seconds when the server sent Retry-After. */
export declare class RateLimitError extends GatewayError {
  constructor(message: string, options?: GatewayErrorOptions & { retryAfter?: number | null });
  readonly status: 429;
  readonly retryAfter: number | null;
}
/** 5xx */
export declare class ServerError extends GatewayError {
  readonly status: number;
}
/** No answer: the gateway could not be reached, the connection broke, or it timed out. */
export declare class ConnectionError extends GatewayError {
  readonly status: null;
}

/** The text/event-stream parser streamEvents() uses. */
export declare class SSEParser {
  /** The last id seen, also from an id-only block. */
  lastId: number | null;
  feed(text: string): SSEEvent[];
}
