// The do-not-call lists (issue 7) through the client, against a real daemon: dnc.list /
// add / import / remove, per tenant.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { BadRequestError, Client, GatewayError, NotFoundError } from "../src/index.js";
import { Daemon } from "../test-support/daemon.js";

let daemon;
let client;
let other;

before(async () => {
  daemon = await Daemon.create();
  client = new Client({ baseUrl: daemon.url, apiKey: daemon.key });
  other = new Client({ baseUrl: daemon.url, apiKey: await daemon.createTenant("globex") });
});

after(() => daemon?.close());

describe("dnc", () => {
  it("adds, looks up, lists, imports and removes numbers, per tenant", async () => {
    assert.deepEqual(await client.dnc.add(["+14155550100", "+1 415 555 0101"], { reason: "asked" }), { added: 2, already: 0 });
    assert.deepEqual(await client.dnc.add(["+14155550101"]), { added: 0, already: 1 });
    const all = await client.dnc.list();
    assert.equal(all.total, 2);
    assert.deepEqual(all.numbers.map((n) => n.phone_number).sort(), ["+14155550100", "+14155550101"]);
    assert.equal(all.numbers.find((n) => n.phone_number === "+14155550100").reason, "asked");
    assert.equal(typeof all.numbers[0].created_at, "string");
    assert.equal((await client.dnc.list({ limit: 1 })).numbers.length, 1);
    assert.equal((await client.dnc.list({ limit: 1, offset: 1 })).numbers.length, 1);
    const second = await client.dnc.list({ limit: 1, page: 2 }); // the reference's paging
    assert.deepEqual(second, await client.dnc.list({ limit: 1, offset: 1 }));
    assert.notDeepEqual(second.numbers, (await client.dnc.list({ limit: 1, page: 1 })).numbers);
    await assert.rejects(client.dnc.list({ page: 1, offset: 1 }), (e) => e instanceof BadRequestError && e.field === "page");
    const one = await client.dnc.list({ phoneNumber: "+1 (415) 555-0101" });
    assert.deepEqual([one.total, one.numbers[0].phone_number], [1, "+14155550101"]);

    const imported = await client.dnc.import(Buffer.from("phone_number\n+14155550102\n+14155550100\n"), { reason: "file" });
    assert.deepEqual(imported, { added: 1, already: 1 });
    await assert.rejects(
      client.dnc.import(Buffer.from("phone_number\n+14155550103\nnope\n")),
      (e) => e instanceof BadRequestError && e.row === 3,
    );
    await assert.rejects(client.dnc.add(["nope"]), BadRequestError);
    assert.equal((await client.dnc.list()).total, 3); // nothing of the refused ones

    assert.equal((await other.dnc.list()).total, 0); // another tenant's list is its own
    await assert.rejects(other.dnc.remove("+14155550100"), NotFoundError);

    assert.equal(await client.dnc.remove("+14155550100"), undefined);
    assert.equal((await client.dnc.list({ phoneNumber: "+14155550100" })).total, 0);
    await assert.rejects(client.dnc.remove("+14155550100"), NotFoundError);
  });

  it("a JSON body over the server's 1 MiB: a GatewayError with status 413 that says so", async () => {
    const numbers = Array.from({ length: 80_000 }, (_, i) => `+1415${String(i).padStart(7, "0")}`);
    assert.ok(JSON.stringify({ phone_numbers: numbers }).length > 1024 ** 2);
    const before = (await client.dnc.list()).total;
    await assert.rejects(client.dnc.add(numbers), (e) => {
      assert.equal(e.constructor, GatewayError, `${e.name}: ${e.message}`);
      assert.equal(e.status, 413);
      assert.match(e.message, /^request body too large \(Request Entity Too Large\): .*dnc\.import\(\)/);
      return true;
    });
    assert.equal((await client.dnc.list()).total, before); // nothing was added
  });
});
