// Run by test/upload.test.js in a process of its own: uploads a CSV through the client
// while sampling this process's memory, then prints one JSON line of what it saw.
//
//   node upload-child.js MODE FILE     (GATEWAY_URL, GATEWAY_API_KEY in the environment)
//
// MODE: `path` (the file's path), `stream` (an fs ReadStream), or `buffered` (the whole
// file read into a Buffer first: the control, which the probe must see).

import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { Client } from "../src/index.js";

const [mode, file] = process.argv.slice(2);
const peak = { heapUsed: 0, external: 0, arrayBuffers: 0, rss: 0, heapAndExternal: 0 };
let samples = 0;
function sample() {
  const m = process.memoryUsage();
  samples += 1;
  peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
  peak.external = Math.max(peak.external, m.external);
  peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
  peak.rss = Math.max(peak.rss, m.rss);
  peak.heapAndExternal = Math.max(peak.heapAndExternal, m.heapUsed + m.external);
}
sample();
const before = { ...peak };
const timer = setInterval(sample, 5);

const client = new Client({ timeout: 120_000 });
const started = performance.now();
let contacts;
if (mode === "path") contacts = file;
else if (mode === "stream") contacts = createReadStream(file);
else if (mode === "buffered") contacts = await readFile(file);
else throw new Error(`unknown mode ${mode}`);
sample();

let result;
try {
  const campaign = await client.campaigns.create({ name: `upload ${mode}`, contacts });
  result = { id: campaign.id, import: campaign.import, counts: campaign.counts };
} catch (error) {
  result = { error: { name: error.name, status: error.status, message: error.message, row: error.row ?? null } };
}
sample();
clearInterval(timer);
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ mode, seconds, samples, before, peak, ...result }));
