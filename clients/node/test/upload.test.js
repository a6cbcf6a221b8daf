// The streamed upload: a 200 MB CSV goes up with the client's heap (and its buffers)
// far below 100 MB, measured in a process of its own; a control that reads the file
// whole first shows that the probe sees what it must.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { BadRequestError, Client } from "../src/index.js";
import { Daemon, Proxy } from "../test-support/daemon.js";

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL("../test-support/upload-child.js", import.meta.url));
const MB = 1024 * 1024;
const SIZE = 200 * MB;
const LIMIT = 100 * MB;
const COLUMNS = 20;
const DISTINCT = 100; // numbers, so the daemon stores 100 contacts of the 10,000+ rows

let daemon;
let folder;
let big;
let rows = 0;

/** A CSV of at least `size` bytes: wide rows (20 values of about 1 kB), numbers repeating. */
async function writeCsv(path, size, firstNumber = null) {
  const out = createWriteStream(path);
  const write = (text) => (out.write(text) ? null : new Promise((r) => out.once("drain", r)));
  const header = `phone_number,${Array.from({ length: COLUMNS }, (_, i) => `c${i}`).join(",")}\n`;
  let written = header.length;
  let count = 0;
  await write(header);
  const filler = "v".repeat(960);
  while (written < size) {
    const number = count === 0 && firstNumber ? firstNumber : `+1415555${String(count % DISTINCT).padStart(4, "0")}`;
    const values = Array.from({ length: COLUMNS }, (_, i) => `${count}-${i}-${filler}`);
    const line = `${number},${values.join(",")}\n`;
    written += line.length;
    count += 1;
    await write(line);
  }
  await new Promise((resolve, reject) => out.end((error) => (error ? reject(error) : resolve())));
  return count;
}

before(async () => {
  folder = await mkdtemp(join(tmpdir(), "gateway-node-upload-"));
  big = join(folder, "big.csv");
  rows = await writeCsv(big, SIZE);
  daemon = await Daemon.create({ maxUploadBytes: 256 * MB });
});

after(async () => {
  await daemon?.close();
  await rm(folder, { recursive: true, force: true });
});

async function uploadInChild(mode, file) {
  const { stdout } = await run(process.execPath, [CHILD, mode, file], {
    env: { ...process.env, GATEWAY_URL: daemon.url, GATEWAY_API_KEY: daemon.key },
    timeout: 300_000,
    maxBuffer: 16 * MB,
  });
  const result = JSON.parse(stdout.trim().split("\n").at(-1));
  const mb = (n) => `${(n / MB).toFixed(1)} MB`;
  console.log(
    `# upload ${mode}: ${((await stat(file)).size / MB).toFixed(0)} MB in ${result.seconds.toFixed(1)} s, ` +
      `peak heapUsed ${mb(result.peak.heapUsed)}, heapUsed+external ${mb(result.peak.heapAndExternal)}, ` +
      `rss ${mb(result.peak.rss)} (${result.samples} samples)`,
  );
  return result;
}

describe("a 200 MB upload", () => {
  for (const mode of ["path", "stream"]) {
    it(`from a ${mode} is streamed: heap and buffers stay under 100 MB`, async () => {
      assert.ok((await stat(big)).size >= SIZE);
      const result = await uploadInChild(mode, big);
      assert.equal(result.error, undefined, JSON.stringify(result.error));
      assert.deepEqual(
        [result.import.rows, result.import.contacts, result.import.duplicates],
        [rows, DISTINCT, rows - DISTINCT],
      );
      assert.ok(result.samples > 100, `only ${result.samples} memory samples`);
      assert.ok(result.peak.heapUsed < LIMIT, `peak heapUsed ${result.peak.heapUsed}`);
      // Buffers live outside the JS heap: counted too, or a whole-file Buffer would pass.
      assert.ok(result.peak.heapAndExternal < LIMIT, `peak heapUsed+external ${result.peak.heapAndExternal}`);
      // Every row was parsed (the count above); a number's first row is the one kept.
      const client = new Client({ baseUrl: daemon.url, apiKey: daemon.key });
      const page = await client.campaigns.listContacts(result.id, { limit: 1, offset: DISTINCT - 1 });
      const kept = page.contacts[0];
      assert.equal(kept.phone_number, `+1415555${String(DISTINCT - 1).padStart(4, "0")}`);
      assert.equal(kept.custom_fields[`c${COLUMNS - 1}`], `${DISTINCT - 1}-${COLUMNS - 1}-${"v".repeat(960)}`);
    });
  }

  it("read whole first (the control) is seen by the same probe", async () => {
    const result = await uploadInChild("buffered", big);
    assert.equal(result.import.rows, rows);
    assert.ok(result.peak.heapAndExternal > SIZE, `control peak ${result.peak.heapAndExternal}`);
  });
});

describe("a refused upload", () => {
  it("stops sending when the server refuses early, and reports the row", async () => {
    const bad = join(folder, "bad.csv");
    await writeCsv(bad, 60 * MB, "nope");
    const size = (await stat(bad)).size;
    const client = new Client({ baseUrl: daemon.url, apiKey: daemon.key });
    const source = createReadStream(bad);
    await assert.rejects(client.campaigns.create({ name: "bad", contacts: source }), (error) => {
      assert.ok(error instanceof BadRequestError, `${error.name}: ${error.message}`);
      assert.deepEqual([error.field, error.row], ["contacts", 2]);
      return true;
    });
    assert.ok(source.bytesRead < size / 2, `read ${source.bytesRead} of ${size} bytes`);
    assert.ok(source.destroyed, "the file is closed");
  });

  it("sends a path with its Content-Length, a stream chunked", async () => {
    const proxy = await new Proxy(daemon.port).listen();
    try {
      const client = new Client({ baseUrl: proxy.url, apiKey: daemon.key });
      const small = join(folder, "small.csv");
      await writeCsv(small, 10_000);
      const size = (await stat(small)).size;
      await client.campaigns.create({ name: "length", contacts: small });
      await client.campaigns.create({ name: "chunked", contacts: createReadStream(small) });
      const [withLength, chunked] = proxy.requests.map((head) => head.toLowerCase());
      const length = Number(/\r\ncontent-length: (\d+)/.exec(withLength)[1]);
      assert.ok(length > size && length < size + 2000, `Content-Length ${length} for ${size} bytes of CSV`);
      assert.match(chunked, /\r\ntransfer-encoding: chunked/);
    } finally {
      await proxy.close();
    }
  });
});
