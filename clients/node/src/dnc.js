// client.dnc: the tenant's do-not-call list.

import { fileSource } from "./multipart.js";
import { segment } from "./transport.js";

function reasonFields(reason) {
  return reason === undefined || reason === null ? [] : [["reason", String(reason)]];
}

export class Dnc {
  #transport;

  constructor(transport) {
    this.#transport = transport;
  }

  /**
   * `{ numbers: [{ phone_number, reason, created_at }], total }`, paged by `limit` with
   * `offset` or the reference's `page`; `phoneNumber` looks one up.
   */
  async list({ limit, offset, page, phoneNumber } = {}) {
    const query = { limit, offset, page, phone_number: phoneNumber };
    return this.#transport.request("GET", "/dnc", { query });
  }

  /** Adds numbers (an array of strings, or one string), sent as JSON: `{ added, already }`. */
  async add(phoneNumbers, { reason } = {}) {
    if (typeof phoneNumbers === "string") phoneNumbers = [phoneNumbers];
    if (!Array.isArray(phoneNumbers)) {
      throw new TypeError("dnc.add(): give an array of phone numbers (a CSV file: dnc.import())");
    }
    const json = { phone_numbers: phoneNumbers.map(String) };
    for (const [name, value] of reasonFields(reason)) json[name] = value;
    return this.#transport.request("POST", "/dnc", { json });
  }

  /**
   * Adds the numbers of a CSV with a phone_number column (a path, Buffer, Blob or
   * Readable, streamed in the file field `numbers`): `{ added, already }`.
   */
  async import(csv, { reason } = {}) {
    const source = await fileSource(csv, "numbers", "numbers.csv");
    return this.#transport.request("POST", "/dnc", {
      multipart: { fields: reasonFields(reason), file: { name: "numbers", source } },
    });
  }

  /** Removes one number (not listed: NotFoundError). */
  async remove(phoneNumber) {
    await this.#transport.request("DELETE", `/dnc/${segment(phoneNumber, "phoneNumber")}`);
  }
}
