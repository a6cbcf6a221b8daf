// A real `gateway serve` for the tests: its own config file, temp database and free port,
// tenants made with the operator's CLI, as tests/daemon_fixture.py does for Python.
//
// The Python that runs the gateway: $GATEWAY_TEST_PYTHON (scripts/test's pytest sets it),
// else <repo>/.venv/bin/python. The dialling daemons use the sandbox named by the
// GATEWAY_AMI_* variables (`set -a; eval "$(scripts/sandbox env)"; set +a`); every other
// daemon is pointed at a closed AMI port and never dials.

import { execFile, spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import { closeSync, existsSync, openSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

// The checkout whose `gateway` the daemons run (the working directory of `python -m`).
export const REPO = process.env.GATEWAY_TEST_REPO || resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const PYTHON = process.env.GATEWAY_TEST_PYTHON || join(REPO, ".venv", "bin", "python");
export const CSV = "phone_number,first_name\n+14155550100,Ada\n+14155550101,Grace\n+14155550102,Linus\n";

const alive = new Set();
process.on("exit", () => {
  for (const child of alive) child.kill("SIGKILL");
});

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** Polls `check` (async, truthy when done) every `every` ms until `timeout` ms have passed. */
export async function waitFor(check, { timeout = 10_000, every = 20, what = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** The sandbox's AMI settings from the environment; throws (never skips) without them. */
export function sandboxAmi() {
  const { GATEWAY_AMI_HOST: host, GATEWAY_AMI_PORT: port } = process.env;
  const { GATEWAY_AMI_USERNAME: username, GATEWAY_AMI_SECRET: secret } = process.env;
  if (!host || !port || !username || !secret) {
    throw new Error(
      "the dialling test needs the sandbox: scripts/sandbox start, then " +
        'set -a; eval "$(scripts/sandbox env)"; set +a (scripts/test does this)',
    );
  }
  return { host, port: Number(port), username, secret };
}

function cleanEnv() {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("GATEWAY_") && !name.startsWith("NOTIFY_")) env[name] = value;
  }
  return env;
}

export class Daemon {
  /**
   * `options.ami`: sandbox AMI settings (the daemon dials), else it never dials;
   * `options.maxUploadBytes`: the upload limit; `options.maxStreamsPerTenant`: open event
   * streams a tenant may hold; `options.callerId`: its number's caller ID.
   */
  constructor(folder, port, options = {}) {
    this.folder = folder;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.config = join(folder, "gateway.toml");
    this.db = join(folder, "gateway.db");
    this.log = join(folder, "daemon.log");
    this.options = options;
    this.callerId = options.callerId ?? `+1555${String(randomInt(10 ** 7)).padStart(7, "0")}`;
    this.proc = null;
    this.key = "";
  }

  static async create(options = {}) {
    if (!existsSync(PYTHON)) {
      throw new Error(`no Python at ${PYTHON}: run scripts/test once, or set GATEWAY_TEST_PYTHON`);
    }
    const folder = await mkdtemp(join(tmpdir(), "gateway-node-test-"));
    const daemon = new Daemon(folder, await freePort(), options);
    try {
      await writeFile(daemon.config, daemon.configText());
      daemon.key = await daemon.createTenant(options.tenant ?? "acme", options.maxCalls ?? 20, options.cps ?? 5);
      await daemon.start();
    } catch (error) {
      await rm(folder, { recursive: true, force: true });
      throw error;
    }
    return daemon;
  }

  configText() {
    let text = `[database]
path = ${JSON.stringify(this.db)}
[http]
host = "127.0.0.1"
port = ${this.port}
max_streams_per_tenant = ${this.options.maxStreamsPerTenant ?? 100}
[compliance]
calling_hours = ""
[log]
format = "json"
level = "info"
[campaigns]
default_agent = "ivr"
default_phone_number = "main"
[[agents]]
id = "ivr"
context = "campaign"
[[agents]]
id = "queue"
context = "sales"
extension = "100"
[[phone_numbers]]
id = "main"
caller_id = ${JSON.stringify(this.callerId)}
dial_string = "PJSIP/{number}@carrier"
`;
    if (this.options.maxUploadBytes) {
      text += `[contacts]\nmax_upload_bytes = ${this.options.maxUploadBytes}\n`;
    }
    const ami = this.options.ami;
    if (ami) {
      text += `[ami]\nhost = ${JSON.stringify(ami.host)}\nport = ${ami.port}\n`;
      text += `username = ${JSON.stringify(ami.username)}\nsecret = ${JSON.stringify(ami.secret)}\n`;
    }
    return text;
  }

  env() {
    const env = cleanEnv();
    if (!this.options.ami) env.GATEWAY_AMI_PORT = "9"; // nothing listens: never dials
    return env;
  }

  /** Runs the operator's CLI on this daemon's configuration; its stdout. */
  async gateway(...args) {
    const { stdout } = await run(PYTHON, ["-m", "gateway", "--config", this.config, ...args], {
      cwd: REPO,
      env: this.env(),
      timeout: 30_000,
    });
    return stdout;
  }

  /** A tenant with a fresh API key; returns the key. */
  async createTenant(name, maxCalls = 20, cps = 5) {
    await this.gateway("tenants", "create", name, "--max-concurrent-calls", String(maxCalls),
      "--max-calls-per-second", String(cps));
    return (await this.gateway("keys", "create", name)).trim().split("\n").at(-1);
  }

  async start(timeout = 20_000) {
    const log = openSync(this.log, "a");
    const child = spawn(PYTHON, ["-m", "gateway", "--config", this.config, "serve"], {
      cwd: REPO,
      env: this.env(),
      stdio: ["ignore", log, log],
    });
    closeSync(log);
    this.proc = child;
    alive.add(child);
    child.exited = new Promise((resolveExit) => {
      child.once("exit", (code, signal) => {
        alive.delete(child);
        resolveExit(code ?? signal);
      });
    });
    const path = this.options.ami ? "/readyz" : "/healthz";
    try {
      await this.#waitUp(child, path, timeout);
    } catch (error) {
      this.proc = null;
      child.kill("SIGKILL"); // never left running behind a failed start
      await child.exited;
      throw error;
    }
  }

  async #waitUp(child, path, timeout) {
    await waitFor(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`daemon exited: ${await this.tail()}`);
        }
        try {
          const response = await fetch(this.url + path, { signal: AbortSignal.timeout(2000) });
          const body = await response.json();
          return response.status === 200 && (!this.options.ami || body.checks?.ami === "ok");
        } catch {
          return false;
        }
      },
      { timeout, every: 50, what: `the daemon's ${path}` },
    ).catch(async (error) => {
      throw new Error(`${error.message}; its log:\n${await this.tail()}`);
    });
  }

  /** SIGTERM and wait: the exit code (0 for a clean stop). */
  async stop(timeout = 20_000) {
    const child = this.proc;
    if (child === null) return 0;
    this.proc = null;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), timeout);
    const code = await child.exited;
    clearTimeout(timer);
    return code;
  }

  /** SIGKILL: no clean-up at all, connections dropped as they are. */
  async kill() {
    const child = this.proc;
    this.proc = null;
    child.kill("SIGKILL");
    await child.exited;
  }

  /** Stops the daemon (asserting a clean exit) and removes its folder. */
  async close() {
    const code = await this.stop();
    const tail = code === 0 ? "" : await this.tail();
    await rm(this.folder, { recursive: true, force: true });
    if (code !== 0) throw new Error(`daemon exited ${code} on SIGTERM:\n${tail}`);
  }

  async tail(chars = 3000) {
    try {
      return (await readFile(this.log, "utf8")).slice(-chars);
    } catch {
      return "";
    }
  }

  async subscribers() {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith("gateway_sse_subscribers "));
    return line ? Number(line.split(" ")[1]) : 0;
  }

  /** Until `count` event streams are open, so what happens next is seen live. */
  waitForSubscribers(count, timeout = 10_000) {
    return waitFor(async () => (await this.subscribers()) >= count, {
      timeout,
      what: `${count} SSE subscribers`,
    });
  }

  /** The ids of the events the daemon stored for a campaign, read from its database. */
  async storedEventIds(campaignId) {
    const script = [
      "import json, sqlite3, sys",
      "db = sqlite3.connect(sys.argv[1])",
      "rows = db.execute('SELECT e.id FROM events e JOIN campaigns c ON c.pk = e.campaign_pk"
        + " WHERE c.id = ? ORDER BY e.id', (sys.argv[2],)).fetchall()",
      "print(json.dumps([r[0] for r in rows]))",
    ].join("\n");
    const { stdout } = await run(PYTHON, ["-c", script, this.db, campaignId], { timeout: 30_000 });
    return JSON.parse(stdout);
  }
}

/**
 * A TCP proxy in front of a port: `cut()` drops every open connection abruptly, `refuse`
 * closes new ones at once (the daemon looks unreachable), `requests` keeps the head of
 * each request that went through (to check the headers a client sent).
 */
export class Proxy {
  constructor(targetPort) {
    this.targetPort = targetPort;
    this.refuse = false;
    this.connections = 0;
    this.requests = [];
    this.sockets = new Set();
    this.server = net.createServer((socket) => this.handle(socket));
  }

  async listen() {
    this.port = await new Promise((resolvePort) => {
      this.server.listen(0, "127.0.0.1", () => resolvePort(this.server.address().port));
    });
    this.url = `http://127.0.0.1:${this.port}`;
    return this;
  }

  handle(socket) {
    if (this.refuse) {
      socket.resetAndDestroy();
      return;
    }
    this.connections += 1;
    const upstream = net.connect(this.targetPort, "127.0.0.1");
    this.sockets.add(socket);
    this.sockets.add(upstream);
    let head = "";
    socket.on("data", (data) => {
      if (head !== null) {
        head += data.toString("latin1");
        const end = head.indexOf("\r\n\r\n");
        if (end !== -1) {
          this.requests.push(head.slice(0, end));
          head = null;
        }
      }
    });
    socket.pipe(upstream);
    upstream.pipe(socket);
    const drop = () => {
      socket.destroy();
      upstream.destroy();
      this.sockets.delete(socket);
      this.sockets.delete(upstream);
    };
    socket.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
  }

  /** Drops every open connection with a reset: no end of the chunked body. */
  cut() {
    for (const socket of this.sockets) socket.resetAndDestroy();
    this.sockets.clear();
  }

  close() {
    this.cut();
    return new Promise((done) => this.server.close(() => done()));
  }
}
