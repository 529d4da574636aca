// Server-Sent Events over fetch: a parser that follows the event-stream format
// (any line ending, chunks split anywhere, multi-line data, comments, id and
// retry fields) and a client that reads a streamed response, so that it can
// send an Authorization header, and reconnects with backoff and Last-Event-ID.

export interface SSEMessage {
  /** The last event id at dispatch time ("" when none was ever sent). */
  id: string;
  /** The event type; "message" when the server named none. */
  event: string;
  /** The data lines joined with "\n". */
  data: string;
}

export class SSEParser {
  /** The last event ID, kept across events (and reconnections) as the format says. */
  lastEventId: string;
  /** The reconnection time the server asked for with retry:, or null. */
  retry: number | null = null;

  private buf = "";
  private started = false;
  private data = "";
  private hasData = false;
  private event = "";
  private idBuffer: string;
  private readonly onMessage: (m: SSEMessage) => void;

  constructor(onMessage: (m: SSEMessage) => void, lastEventId = "") {
    this.onMessage = onMessage;
    this.lastEventId = lastEventId;
    this.idBuffer = lastEventId;
  }

  /** push feeds decoded text; messages complete in it are dispatched at once. */
  push(text: string): void {
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.buf += text;
    let start = 0;
    const buf = this.buf;
    for (;;) {
      let i = start;
      while (i < buf.length && buf[i] !== "\n" && buf[i] !== "\r") i++;
      if (i >= buf.length) break;
      // A CR at the very end may be the first half of a CRLF: wait for more.
      if (buf[i] === "\r" && i + 1 >= buf.length) break;
      this.line(buf.slice(start, i));
      start = buf[i] === "\r" && buf[i + 1] === "\n" ? i + 2 : i + 1;
    }
    this.buf = buf.slice(start);
  }

  /**
   * end marks the end of the stream: a lone CR still buffered ends its line,
   * and an event not ended by a blank line is dropped, as the format says.
   */
  end(): void {
    if (this.buf.endsWith("\r")) {
      this.line(this.buf.slice(0, -1));
    }
    this.buf = "";
    this.data = "";
    this.hasData = false;
    this.event = "";
  }

  private line(line: string): void {
    if (line === "") {
      this.dispatch();
      return;
    }
    if (line.startsWith(":")) return; // a comment, e.g. a keep-alive
    const colon = line.indexOf(":");
    let field = line;
    let value = "";
    if (colon >= 0) {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
    }
    switch (field) {
      case "event":
        this.event = value;
        break;
      case "data":
        this.data += value + "\n";
        this.hasData = true;
        break;
      case "id":
        if (!value.includes("\0")) this.idBuffer = value;
        break;
      case "retry":
        if (/^[0-9]+$/.test(value)) this.retry = parseInt(value, 10);
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  private dispatch(): void {
    this.lastEventId = this.idBuffer;
    if (!this.hasData) {
      this.event = "";
      return;
    }
    const data = this.data.endsWith("\n") ? this.data.slice(0, -1) : this.data;
    const msg: SSEMessage = { id: this.lastEventId, event: this.event || "message", data };
    this.data = "";
    this.hasData = false;
    this.event = "";
    this.onMessage(msg);
  }
}

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface LiveEventsOptions {
  url: string;
  /** Headers added to every connection (e.g. Authorization); read each time. */
  headers?: () => Record<string, string>;
  onMessage: (m: SSEMessage) => void;
  /** Each time a connection is open (status 200). */
  onOpen?: () => void;
  /** A failed or ended connection; a reconnection follows unless closed. */
  onError?: (err: unknown) => void;
  /** The server answered 401: the client stops. */
  onUnauthorized?: () => void;
  fetch?: FetchLike;
  /** First reconnection delay in ms, doubled on each failure in a row. */
  initialDelay?: number;
  maxDelay?: number;
  /** Reconnect when nothing (not even a keep-alive comment) came for this long; 0 never. */
  idleTimeout?: number;
  /** Waits ms or until the signal aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** 0..1, spreads reconnections (delay × 0.8..1.2). */
  random?: () => number;
}

export class HTTPStatusError extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`event stream answered ${status}`);
    this.status = status;
  }
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}

/** The delay before reconnection attempt n (0-based). */
export function backoff(n: number, initial: number, max: number): number {
  return Math.min(max, initial * 2 ** Math.min(n, 30));
}

/**
 * LiveEvents keeps one event stream open: it reconnects after any failure or
 * end with exponential backoff, resuming with Last-Event-ID from the last id
 * seen. It stops on close(), on 401, on 204 and on other 4xx answers.
 */
export class LiveEvents {
  lastEventId = "";
  /** Connections opened so far. */
  connections = 0;
  private readonly opts: LiveEventsOptions;
  private readonly ctl = new AbortController();
  private conn: AbortController | null = null;
  private running: Promise<void> | null = null;
  private baseDelay: number;

  constructor(opts: LiveEventsOptions) {
    this.opts = opts;
    this.baseDelay = opts.initialDelay ?? 1000;
  }

  get closed(): boolean {
    return this.ctl.signal.aborted;
  }

  /** start connects; the returned promise settles when the client stops for good. */
  start(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  close(): void {
    this.ctl.abort();
    this.conn?.abort();
  }

  private async loop(): Promise<void> {
    const sleep = this.opts.sleep ?? defaultSleep;
    const random = this.opts.random ?? Math.random;
    const max = this.opts.maxDelay ?? 30_000;
    let failures = 0;
    while (!this.closed) {
      let stop = false;
      try {
        const got = await this.connect();
        if (got) failures = 0;
        // The server ended the stream: reconnect.
        this.opts.onError?.(new Error("event stream ended"));
      } catch (err) {
        if (this.closed) break;
        if (err instanceof HTTPStatusError) {
          if (err.status === 401) {
            this.opts.onUnauthorized?.();
            stop = true;
          } else if (err.status === 204 || (err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 429)) {
            stop = true;
          }
        }
        this.opts.onError?.(err);
      }
      if (stop) {
        this.close();
        break;
      }
      if (this.closed) break;
      const d = backoff(failures, this.baseDelay, max) * (0.8 + 0.4 * random());
      failures++;
      await sleep(Math.round(d), this.ctl.signal);
    }
  }

  /** connect reads one connection to its end; true if any message or comment arrived. */
  private async connect(): Promise<boolean> {
    const doFetch: FetchLike = this.opts.fetch ?? ((input, init) => fetch(input, init));
    const conn = new AbortController();
    this.conn = conn;
    const headers: Record<string, string> = { Accept: "text/event-stream", ...(this.opts.headers?.() ?? {}) };
    if (this.lastEventId) headers["Last-Event-ID"] = this.lastEventId;
    let idle: ReturnType<typeof setTimeout> | undefined;
    const idleMs = this.opts.idleTimeout ?? 45_000;
    const arm = (): void => {
      if (idleMs <= 0) return;
      if (idle !== undefined) clearTimeout(idle);
      idle = setTimeout(() => conn.abort(), idleMs);
    };
    try {
      const res = await doFetch(this.opts.url, { headers, signal: conn.signal, cache: "no-store" });
      if (res.status !== 200 || !res.body) {
        try {
          await res.body?.cancel();
        } catch {
          // nothing to release
        }
        throw new HTTPStatusError(res.status);
      }
      this.connections++;
      this.opts.onOpen?.();
      arm();
      const parser = new SSEParser((m) => {
        this.lastEventId = m.id;
        this.opts.onMessage(m);
      }, this.lastEventId);
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let got = false;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        got = true;
        arm();
        parser.push(decoder.decode(value, { stream: true }));
        // An id field without data still moves the last event id.
        this.lastEventId = parser.lastEventId;
        if (parser.retry !== null) this.baseDelay = parser.retry;
        if (this.closed) break;
      }
      parser.push(decoder.decode());
      parser.end();
      this.lastEventId = parser.lastEventId;
      return got;
    } catch (err) {
      // The idle watchdog aborted a silent connection: treat it as an end.
      if (!this.closed && conn.signal.aborted) return false;
      throw err;
    } finally {
      if (idle !== undefined) clearTimeout(idle);
      if (this.conn === conn) this.conn = null;
    }
  }
}
