// Server-Sent Events over fetch(): EventSource cannot send the Authorization header, and
// the key never goes into a URL. Resumes after a drop with Last-Event-ID (the id of the
// last event read; the server sends its position as soon as a stream opens), so
// no stored event is missed; the header's status says `Reconnecting…` meanwhile.

import { UNAUTHORIZED, authHeaders, url } from './api.js';

const MAX_DELAY = 5000;
const streams = new Set();
const listeners = new Set();

/** 'reconnecting' if any stream is, else 'live' if any is open, else ''. */
export function overallState() {
  let live = false;
  for (const stream of streams) {
    if (stream.state === 'reconnecting') return 'reconnecting';
    if (stream.state === 'live') live = true;
  }
  return live ? 'live' : '';
}

export function onStateChange(listener) {
  listeners.add(listener);
}

function notify() {
  const state = overallState();
  for (const listener of listeners) listener(state);
}

export function closeAll() {
  for (const stream of [...streams]) stream.close();
}

export class EventStream {
  /**
   * handlers: { event(type, data, id), gone(status), failed(error) }: `event` for every
   * event with data, `gone` on 404 (the campaign is not there), `failed` when retrying
   * makes no sense (400).
   */
  constructor(path, handlers) {
    this.path = path;
    this.handlers = handlers;
    this.lastEventId = null;
    this.retry = 2000;
    this.state = 'connecting';
    this.controller = new AbortController();
    this.closed = false;
    streams.add(this);
    this.run();
  }

  close() {
    this.closed = true;
    this.controller.abort();
    streams.delete(this);
    notify();
  }

  setState(state) {
    if (this.state !== state) {
      this.state = state;
      notify();
    }
  }

  async run() {
    let failures = 0;
    while (!this.closed) {
      try {
        const headers = { ...authHeaders(), Accept: 'text/event-stream' };
        if (this.lastEventId !== null) headers['Last-Event-ID'] = this.lastEventId;
        const response = await fetch(url(this.path), {
          headers,
          signal: this.controller.signal,
          cache: 'no-store',
          credentials: 'omit',
        });
        if (response.status === 401) {
          window.dispatchEvent(new CustomEvent(UNAUTHORIZED));
          this.close();
          return;
        }
        if (response.status === 404) {
          this.close();
          this.handlers.gone?.(404);
          return;
        }
        if (response.status === 400) {
          this.close();
          this.handlers.failed?.(new Error('the gateway refused the event stream'));
          return;
        }
        if (!response.ok || !response.body) throw new Error(`event stream: ${response.status}`);
        this.setState('live');
        failures = 0;
        if (await this.read(response.body)) {
          this.close(); // `end`: the campaign is over, nothing more will come
          return;
        }
      } catch (error) {
        if (this.closed) return;
      }
      if (this.closed) return;
      this.setState('reconnecting');
      await new Promise((resolve) => setTimeout(resolve, Math.min(this.retry * 2 ** failures, MAX_DELAY)));
      failures += 1;
    }
  }

  /** Reads until the stream ends; true when it ended with an `end` event. */
  async read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let block = { type: '', data: [], id: null };
    let ended = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return ended;
      buffer += value;
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop();
      for (const line of lines) {
        if (line === '') {
          if (block.id !== null) this.lastEventId = block.id;
          if (block.data.length) {
            const type = block.type || 'message';
            let data;
            try {
              data = JSON.parse(block.data.join('\n'));
            } catch {
              data = block.data.join('\n');
            }
            if (type === 'end') ended = true;
            this.handlers.event?.(type, data, block.id);
          }
          block = { type: '', data: [], id: null };
          continue;
        }
        if (line.startsWith(':')) continue; // a comment: the heartbeat
        const colon = line.indexOf(':');
        const name = colon < 0 ? line : line.slice(0, colon);
        let value2 = colon < 0 ? '' : line.slice(colon + 1);
        if (value2.startsWith(' ')) value2 = value2.slice(1);
        if (name === 'event') block.type = value2;
        else if (name === 'data') block.data.push(value2);
        else if (name === 'id' && !value2.includes('\0')) block.id = value2;
        else if (name === 'retry' && /^\d+$/.test(value2)) this.retry = Number(value2);
      }
    }
  }
}
