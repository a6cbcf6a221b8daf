// Compiled (never run) by test/pack.test.js with tsc --strict, in a folder the packed
// tarball was installed into: the declarations must accept every documented use and
// refuse the misuses marked @ts-expect-error.

import { createReadStream } from "node:fs";
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
  // Types only (the module exports no such value): see the @ts-expect-error below.
  Campaigns,
  Dnc,
  type AnsweredBy,
  type Campaign,
  type Contact,
  type ContactDetail,
  type DncEntry,
  type GatewayEvent,
} from "campaign-gateway";

export async function usage(): Promise<void> {
  const client = new Client({ baseUrl: "http://127.0.0.1:8080", apiKey: "gw_x", timeout: 5000 });
  new Client(); // from GATEWAY_URL / GATEWAY_API_KEY
  // @ts-expect-error: baseUrl is a string
  new Client({ baseUrl: 8080 });

  const created = await client.campaigns.create({
    name: "Spring",
    contacts: "contacts.csv",
    agentId: "ivr",
    phoneNumberId: "main",
    maxConcurrentCalls: 10,
    retriesPerContact: 2,
    retryDelaySeconds: 600,
    scheduledAt: new Date(),
    maxCallsPerSecond: 1.5,
    ringTimeoutSeconds: 20,
    timezone: "Europe/Paris",
    callingWindowStart: "09:00",
    callingWindowEnd: "18:00",
    retryOn: ["busy", "no_answer"],
    amd: true,
    machineAgentId: "voicemail",
  });
  const rows: number = created.import.rows;
  await client.campaigns.create({ name: "b", contacts: Buffer.from("phone_number\n") });
  await client.campaigns.create({ name: "s", contacts: createReadStream("c.csv") });
  await client.campaigns.create({ name: "blob", contacts: new Blob(["phone_number\n"]) });
  // @ts-expect-error: contacts is required
  await client.campaigns.create({ name: "none" });
  // @ts-expect-error: an unknown option
  await client.campaigns.create({ name: "x", contacts: "c.csv", maxConcurrentCall: 3 });

  const { campaigns, total } = await client.campaigns.list({ limit: 10, offset: 0, page: 1 });
  const first: Campaign | undefined = campaigns[0];
  const count: number = total + rows + (first?.counts.pending ?? 0);
  const got: Campaign = await client.campaigns.get(created.id);
  const status: "draft" | "scheduled" | "running" | "paused" | "stopped" | "completed" = got.status;
  const amd: "on" | "off" = got.amd;
  const machineAgent: string | null = got.machine_agent_id;
  const retried: string[] = got.retry_on.filter((o) => o === "machine");
  // @ts-expect-error: amd is "on" or "off", never a boolean
  const amdFlag: boolean = got.amd;
  await client.campaigns.create({ name: "m", contacts: "c.csv", amd: "on", retryOn: ["machine"] });
  // @ts-expect-error: the module exports Campaigns and Dnc as types only: no value to use
  void [Campaigns, Dnc];
  const typed: [Campaigns, Dnc] = [client.campaigns, client.dnc];
  await client.campaigns.start(created.id);
  await client.campaigns.pause(created.id);
  await client.campaigns.resume(created.id);
  await client.campaigns.stop(created.id);
  const nothing: void = await client.campaigns.delete(created.id);
  const page = await client.campaigns.listContacts(created.id, { status: "failed", limit: 5, offset: 0, page: 1 });
  const phone: string | undefined = page.contacts[0]?.phone_number;
  const contact: Contact | undefined = page.contacts[0];
  if (contact) {
    const by: "human" | "machine" | "unknown" | null = contact.answered_by;
    const cause: string | null = contact.amd_cause;
    const updated: string | null = contact.updated_at;
    const made: number = contact.attempts;
    // @ts-expect-error: null until its first change
    const always: string = contact.updated_at;
    void [by, cause, updated, made, always];
  }
  // @ts-expect-error: not a contact status
  await client.campaigns.listContacts(created.id, { status: "ringing" });
  const detail: ContactDetail = await client.campaigns.getContact(created.id, 1);
  const decision: string | undefined = detail.decisions[0]?.decision;
  // Every contact field, typed (not unknown) on the detail too.
  const detailPhone: string = detail.phone_number;
  const detailBy: AnsweredBy | null = detail.answered_by;
  const made: number = detail.attempts_made;
  const attemptBy: AnsweredBy | null | undefined = detail.attempts[0]?.answered_by;
  const attemptCause: string | null | undefined = detail.attempts[0]?.amd_cause;
  void [detailPhone, detailBy, made, attemptBy, attemptCause];
  const csv = await client.campaigns.exportContacts(created.id, { status: "completed" });
  csv.pipe(process.stdout);

  const controller = new AbortController();
  for await (const event of client.campaigns.streamEvents(created.id, {
    lastEventId: 0,
    signal: controller.signal,
    onReconnect: ({ attempt, delay, lastEventId }) => void [attempt, delay, lastEventId],
  })) {
    const e: GatewayEvent = event;
    const id: number | null = e.id;
    if (e.event === "contact") {
      const stored: number = e.id;
      const by: AnsweredBy | undefined = e.data.answered_by;
      const reason: string | undefined = e.data.reason;
      const outcome: string | null = e.data.outcome;
      void [stored, by, reason, outcome];
    } else if (e.event === "amd") {
      const by: AnsweredBy = e.data.answered_by;
      const cause: string | null = e.data.amd_cause;
      void [by, cause, e.data.contact_id];
    } else if (e.event === "opt_out") {
      const number: string = e.data.phone_number;
      void number;
    } else if (e.event === "metrics") {
      const none: null = e.id;
      const waiting: number = e.data.waiting_for_window;
      const byNode: Record<string, number> | undefined = e.data.calls_by_node;
      const machines: number | null = e.data.machine_rate;
      void [none, waiting, byNode, machines];
    } else if (e.event === "campaign") {
      const to: string = e.data.to;
      void to;
    } else if (e.event === "end") {
      const how: "completed" | "stopped" | "deleted" = e.data.status;
      void how;
      break;
    } else {
      // @ts-expect-error: no other event type
      void e.data;
    }
    void id;
  }
  // @ts-expect-error: not an event type the gateway sends
  const unknownEvent: GatewayEvent = { id: 1, event: "ringing", data: {} };

  const dnc = await client.dnc.list({ limit: 10, offset: 0, phoneNumber: "+14155550100" });
  await client.dnc.list({ limit: 10, page: 2 });
  const entry: DncEntry | undefined = dnc.numbers[0];
  const reason: string | undefined = entry?.reason; // "" when none was given
  const { added, already } = await client.dnc.add(["+14155550100"], { reason: "asked" });
  await client.dnc.import("numbers.csv", { reason: "list" });
  await client.dnc.remove("+14155550100");
  const options = await client.options();
  const agents: string[] = options.agents.concat(options.phone_numbers);

  const made413 = new GatewayError("request body too large", { status: 413, body: { error: "x" } });
  const status413: number | null = made413.status;
  const limited = new RateLimitError("slow down", { status: 429, retryAfter: 2 });
  const wrapped = new ConnectionError("down", { cause: new Error("ECONNRESET") });
  // @ts-expect-error: the message is required
  new GatewayError();
  // @ts-expect-error: status is a number or null
  new GatewayError("x", { status: "413" });
  void [status413, limited.retryAfter, wrapped];

  try {
    await client.campaigns.start("x");
  } catch (error) {
    if (error instanceof BadRequestError) {
      const field: string | null = error.field;
      const row: number | null = error.row;
      void [field, row];
    } else if (error instanceof RateLimitError) {
      const after: number | null = error.retryAfter;
      void after;
    } else if (error instanceof ConnectionError) {
      const none: null = error.status;
      void none;
    } else if (
      error instanceof AuthenticationError ||
      error instanceof NotFoundError ||
      error instanceof ConflictError ||
      error instanceof ServerError ||
      error instanceof GatewayError
    ) {
      const s: number | null = error.status;
      const m: string = error.message;
      void [s, m];
    }
  }
  void [count, status, nothing, phone, decision, reason, added, already, agents];
  void [amd, machineAgent, retried, amdFlag, typed, unknownEvent];
}
