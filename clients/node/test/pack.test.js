// `npm pack` gives a tarball that installs into an empty folder and works there, with
// its TypeScript declarations, against a real daemon.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFile, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Daemon } from "../test-support/daemon.js";

const run = promisify(execFile);
const PACKAGE = fileURLToPath(new URL("..", import.meta.url));
const TSC = join(PACKAGE, "node_modules", ".bin", "tsc");
const npm = (args, cwd) => run("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd, timeout: 120_000 });

let daemon;
let folder;

before(async () => {
  daemon = await Daemon.create();
  folder = await mkdtemp(join(tmpdir(), "gateway-node-pack-"));
});

after(async () => {
  await daemon?.close();
  await rm(folder, { recursive: true, force: true });
});

it("packs, installs into an empty folder, imports, types and works", async () => {
  const packed = JSON.parse((await npm(["pack", "--json", "--pack-destination", folder], PACKAGE)).stdout);
  const [{ filename, files }] = packed;
  const paths = files.map((f) => f.path).sort();
  assert.ok(paths.includes("package.json") && paths.includes("README.md"), paths.join(" "));
  for (const name of ["index.js", "index.d.ts", "client.js", "campaigns.js", "dnc.js", "errors.js", "multipart.js", "sse.js", "transport.js"]) {
    assert.ok(paths.includes(`src/${name}`), `src/${name} is in the tarball`);
  }
  assert.ok(!paths.some((p) => p.startsWith("test") || p.includes("node_modules")), paths.join(" "));

  const app = join(folder, "app");
  await run("mkdir", [app]);
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  await npm(["install", "--offline", join(folder, filename)], app);
  const installed = (await readdir(join(app, "node_modules"))).filter((n) => !n.startsWith("."));
  assert.deepEqual(installed, ["campaign-gateway"]); // and nothing else: no dependencies

  await writeFile(join(app, "use.mjs"), `
import { Client, GatewayError, NotFoundError } from "campaign-gateway";
const client = new Client(); // GATEWAY_URL and GATEWAY_API_KEY
const created = await client.campaigns.create({
  name: "from the tarball",
  contacts: Buffer.from("phone_number\\n+14155550100\\n"),
  maxConcurrentCalls: 3,
});
const got = await client.campaigns.get(created.id);
let missing = null;
try {
  await client.campaigns.get("nope");
} catch (error) {
  missing = [error instanceof NotFoundError, error instanceof GatewayError, error.status];
}
console.log(JSON.stringify({ status: got.status, max: got.max_concurrent_calls, total: got.counts.total, missing }));
`);
  const { stdout } = await run(process.execPath, ["use.mjs"], {
    cwd: app,
    env: { ...process.env, GATEWAY_URL: daemon.url, GATEWAY_API_KEY: daemon.key },
    timeout: 60_000,
  });
  assert.deepEqual(JSON.parse(stdout), { status: "draft", max: 3, total: 1, missing: [true, true, 404] });

  // The declarations, as a TypeScript project that installed the package sees them.
  await copyFile(fileURLToPath(new URL("types/usage.ts", import.meta.url)), join(app, "usage.ts"));
  await writeFile(join(app, "tsconfig.json"), JSON.stringify({
    compilerOptions: {
      strict: true,
      noEmit: true,
      module: "nodenext",
      moduleResolution: "nodenext",
      target: "es2022",
      lib: ["es2022"],
      types: ["node"],
      typeRoots: [join(PACKAGE, "node_modules", "@types")],
    },
    files: ["usage.ts"],
  }));
  try {
    await run(TSC, ["-p", app], { cwd: app, timeout: 120_000 });
  } catch (error) {
    if (error.code === "ENOENT") throw new Error(`no ${TSC}: run npm ci in clients/node`);
    throw new Error(`tsc found errors in the declarations:\n${error.stdout}${error.stderr}`);
  }
});
