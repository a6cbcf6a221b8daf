// Server-Sent Events as the client reads them (WHATWG rules): lines in, events out.

/**
 * Parses text/event-stream text fed in chunks of any size. `feed(text)` returns the events
 * completed by that text, each `{ id, event, data }`: `id` is the event's numeric id (null
 * for the gateway's unstored events: metrics, end), `data` is parsed from its JSON (the raw
 * text when it is not JSON). `lastId` is the last id seen, also from an id-only block
 * (the gateway's first block says the stream's position that way).
 */
export class SSEParser {
  constructor() {
    this.lastId = null;
    this._rest = "";
    this._skipLF = false;
    this._id = null;
    this._event = "";
    this._data = [];
  }

  feed(text) {
    const events = [];
    let buffer = this._rest + text;
    let start = 0;
    if (this._skipLF && buffer.startsWith("\n")) start = 1;
    this._skipLF = false;
    for (;;) {
      const cr = buffer.indexOf("\r", start);
      const lf = buffer.indexOf("\n", start);
      if (cr === -1 && lf === -1) break;
      const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      const line = buffer.slice(start, end);
      start = end + 1;
      if (buffer[end] === "\r") {
        if (start === buffer.length) this._skipLF = true; // a CRLF cut between two chunks
        else if (buffer[start] === "\n") start += 1;
      }
      const event = this._line(line);
      if (event !== null) events.push(event);
    }
    this._rest = buffer.slice(start);
    buffer = "";
    return events;
  }

  _line(line) {
    if (line === "") return this._dispatch();
    if (line.startsWith(":")) return null; // a comment: the heartbeat
    const colon = line.indexOf(":");
    const name = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (name === "data") this._data.push(value);
    else if (name === "event") this._event = value;
    else if (name === "id" && /^\d+$/.test(value)) this._id = Number(value);
    return null;
  }

  _dispatch() {
    const id = this._id;
    this._id = null;
    if (id !== null) this.lastId = id;
    const event = this._event || "message";
    this._event = "";
    if (this._data.length === 0) return null;
    const text = this._data.join("\n");
    this._data = [];
    let data;
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
    return { id, event, data };
  }
}
