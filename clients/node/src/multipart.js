// A multipart/form-data body built as a stream: form fields, then one file part whose
// bytes are pulled from their source only as fast as the connection takes them. Node's
// own FormData would read a stream whole into memory first; this never does.

import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";

const CHUNK = 64 * 1024;
const encoder = new TextEncoder();

function quote(text) {
  // As browsers do (WHATWG): the name cannot end the quoted string nor the header line.
  return String(text).replace(/\r/g, "%0D").replace(/\n/g, "%0A").replace(/"/g, "%22");
}

/**
 * What a file source is: `{ filename, size, open }`, where `open()` gives an async iterable
 * of bytes and `size` is the byte count when known without reading (else null).
 * Sources: a path (string or file: URL), a Buffer / Uint8Array / ArrayBuffer, a Blob (or
 * File), a Node Readable, a web ReadableStream, or any async iterable of bytes.
 */
export async function fileSource(source, what, defaultName) {
  if (typeof source === "string" || source instanceof URL) {
    const path = source instanceof URL ? fileURLToPath(source) : source;
    const info = await stat(path);
    if (!info.isFile()) throw new TypeError(`${what}: ${path} is not a file`);
    return {
      filename: basename(path) || defaultName,
      size: info.size,
      open: () => createReadStream(path, { highWaterMark: CHUNK }),
    };
  }
  if (source instanceof ArrayBuffer) source = new Uint8Array(source);
  if (ArrayBuffer.isView(source)) {
    const bytes = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    return { filename: defaultName, size: bytes.byteLength, open: () => [bytes] };
  }
  if (typeof Blob !== "undefined" && source instanceof Blob) {
    const name = typeof source.name === "string" && source.name ? basename(source.name) : "";
    return {
      filename: name || defaultName,
      size: source.size,
      open: () => Readable.fromWeb(source.stream()),
    };
  }
  if (source instanceof Readable || isNodeReadable(source)) {
    const path = typeof source.path === "string" ? basename(source.path) : "";
    return { filename: path || defaultName, size: null, open: () => source };
  }
  if (typeof ReadableStream !== "undefined" && source instanceof ReadableStream) {
    return { filename: defaultName, size: null, open: () => Readable.fromWeb(source) };
  }
  if (source !== null && typeof source === "object" && Symbol.asyncIterator in source) {
    return { filename: defaultName, size: null, open: () => source };
  }
  throw new TypeError(
    `${what}: give a file path, a Buffer, a Blob or a Readable stream (got ${describe(source)})`,
  );
}

function isNodeReadable(value) {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof value.pipe === "function" &&
    typeof value.read === "function" &&
    Symbol.asyncIterator in value
  );
}

function describe(value) {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return value.constructor?.name ?? "object";
}

function toBytes(chunk) {
  if (typeof chunk === "string") return encoder.encode(chunk);
  if (chunk instanceof Uint8Array) return chunk;
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  throw new TypeError(`the file's stream gave a ${describe(chunk)}, not bytes`);
}

/**
 * The body: `{ body, contentType, length, close }`. `fields` is a list of [name, text] pairs,
 * `file` `{ name, source }` with `source` from fileSource(). `length` is the exact byte
 * count when the file's size is known (so the request carries a Content-Length), else
 * null (chunked). `onPull` is called at each chunk sent (the caller's idle timer).
 */
export function multipartBody(fields, file, { contentType = "text/csv", onPull = () => {} } = {}) {
  const boundary = `----campaign-gateway-${randomBytes(16).toString("hex")}`;
  let head = "";
  for (const [name, value] of fields) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${quote(name)}"\r\n\r\n`;
    head += `${value}\r\n`;
  }
  head += `--${boundary}\r\nContent-Disposition: form-data; name="${quote(file.name)}"; `;
  head += `filename="${quote(file.source.filename)}"\r\nContent-Type: ${contentType}\r\n\r\n`;
  const headBytes = encoder.encode(head);
  const tailBytes = encoder.encode(`\r\n--${boundary}--\r\n`);
  const size = file.source.size;
  const length = size === null ? null : headBytes.byteLength + size + tailBytes.byteLength;

  let iterator = null;
  let stage = 0; // 0 head, 1 file, 2 tail, 3 done
  let closed = false;
  let sent = 0;
  const body = new ReadableStream(
    {
      async pull(controller) {
        onPull();
        if (closed) {
          controller.error(new Error("the upload was ended: the server answered"));
          return;
        }
        if (stage === 0) {
          stage = 1;
          controller.enqueue(headBytes);
          return;
        }
        if (stage === 1) {
          try {
            if (await sendChunk(controller)) return;
          } catch (error) {
            form.sourceError = error; // the caller gets this, not a network error
            throw error;
          }
          stage = 2;
        }
        if (stage === 2) {
          stage = 3;
          controller.enqueue(tailBytes);
          controller.close();
        }
      },
      async cancel() {
        await close();
      },
    },
    { highWaterMark: 0 },
  );
  // One chunk of the file into the body; false at its end.
  async function sendChunk(controller) {
    iterator ??= iterate(file.source.open());
    for (;;) {
      const { value, done } = await iterator.next();
      if (done) break;
      const bytes = toBytes(value);
      if (bytes.byteLength === 0) continue;
      sent += bytes.byteLength;
      if (size !== null && sent > size) {
        throw new Error(`${file.name}: the file grew while it was sent (over ${size} bytes)`);
      }
      controller.enqueue(bytes);
      return true;
    }
    if (size !== null && sent !== size) {
      throw new Error(`${file.name}: the file changed while it was sent (${sent} of ${size} bytes)`);
    }
    return false;
  }
  // After the answer: a file the server did not read to its end (it refused early) is
  // closed, not left open until the garbage collector finds it.
  async function close() {
    closed = true;
    const open = iterator;
    iterator = null;
    await open?.return?.();
  }
  const form = { body, contentType: `multipart/form-data; boundary=${boundary}`, length, close, sourceError: null };
  return form;
}

async function* iterate(iterable) {
  yield* iterable;
}
