// Live updates from GET /v1/events (server-sent events, docs/api.md §8).
//
// The browser's EventSource cannot send an Authorization header, and a token in the URL would end up in proxy
// and server logs. So the page reads the stream with fetch() and parses the event-stream format itself, with the
// token in the header like every other call. When the stream ends (node restart, proxy timeout) it reconnects
// with ?from_height= the last height it saw and drops the events it already had (by entry id), with a growing
// pause (1 s … 15 s). A refused stream (401, 403, 404) is not retried.

import { request } from './api.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class LiveStream {
  // query: {doc?, type?}; fromHeight: replay from this height first (0: live only);
  // onEvent(entry) for each new entry; onState('connecting'|'live'|'reconnecting'|'refused', error?).
  constructor(query, fromHeight, onEvent, onState) {
    this.query = query;
    this.fromHeight = fromHeight || 0;
    this.onEvent = onEvent;
    this.onState = onState;
    this.seen = new Set();
    this.stopped = false;
    this.ctrl = null;
  }

  start() {
    this.run();
    return this;
  }

  stop() {
    this.stopped = true;
    if (this.ctrl) this.ctrl.abort();
  }

  async run() {
    let pause = 1000;
    while (!this.stopped) {
      this.ctrl = new AbortController();
      const q = new URLSearchParams(this.query);
      if (this.fromHeight > 0) q.set('from_height', String(this.fromHeight));
      this.onState('connecting');
      try {
        const res = await request('/v1/events?' + q, { signal: this.ctrl.signal, accept: 'text/event-stream' });
        pause = 1000;
        await this.read(res.body.pipeThrough(new TextDecoderStream()).getReader());
      } catch (e) {
        if (this.stopped) return;
        if (e.status === 401 || e.status === 403 || e.status === 404) {
          this.onState('refused', e);
          return;
        }
      }
      if (this.stopped) return;
      this.onState('reconnecting');
      await sleep(pause);
      pause = Math.min(pause * 2, 15000);
    }
  }

  async read(reader) {
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value.replace(/\r\n?/g, '\n');
      let end;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        this.dispatch(block);
      }
    }
  }

  dispatch(block) {
    let event = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        if (line.slice(1).trim() === 'live') this.onState('live');
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (event !== 'entry' || data.length === 0) return;
    let entry;
    try {
      entry = JSON.parse(data.join('\n'));
    } catch {
      return;
    }
    if (this.seen.has(entry.id)) return;
    this.seen.add(entry.id);
    if (this.seen.size > 5000) this.seen.delete(this.seen.values().next().value);
    if (entry.height > this.fromHeight) this.fromHeight = entry.height;
    this.onEvent(entry);
  }
}
