// Compiled (never run) by test/types.test.js with tsc --strict: the declarations must
// accept every documented use and refuse the misuses marked @ts-expect-error.

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
  type Campaign,
  type ContactDetail,
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
  await client.campaigns.start(created.id);
  await client.campaigns.pause(created.id);
  await client.campaigns.resume(created.id);
  await client.campaigns.stop(created.id);
  const nothing: void = await client.campaigns.delete(created.id);
  const page = await client.campaigns.listContacts(created.id, { status: "failed", limit: 5, offset: 0, page: 1 });
  const phone: string | undefined = page.contacts[0]?.phone_number;
  // @ts-expect-error: not a contact status
  await client.campaigns.listContacts(created.id, { status: "ringing" });
  const detail: ContactDetail = await client.campaigns.getContact(created.id, 1);
  const decision: string | undefined = detail.decisions[0]?.decision;
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
    if (e.event === "end") break;
    void id;
  }

  const dnc = await client.dnc.list({ limit: 10, offset: 0, phoneNumber: "+14155550100" });
  const reason: string | null | undefined = dnc.numbers[0]?.reason;
  const { added, already } = await client.dnc.add(["+14155550100"], { reason: "asked" });
  await client.dnc.import("numbers.csv", { reason: "list" });
  await client.dnc.remove("+14155550100");
  const options = await client.options();
  const agents: string[] = options.agents.concat(options.phone_numbers);

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
}
