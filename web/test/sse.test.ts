import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { backoff, LiveEvents, SSEParser, type FetchLike, type SSEMessage } from "../src/lib/sse";

function parseAll(chunks: string[], lastEventId = ""): { msgs: SSEMessage[]; parser: SSEParser } {
  const msgs: SSEMessage[] = [];
  const parser = new SSEParser((m) => msgs.push(m), lastEventId);
  for (const c of chunks) parser.push(c);
  return { msgs, parser };
}

const STREAM =
  ": hello\n" +
  "id: 1\nevent: capture.started\ndata: {\"id\":1}\n\n" +
  "id: 2\r\nevent: capture.progress\r\ndata: line one\r\ndata: line two\r\n\r\n" +
  "retry: 2500\n\n" +
  "data:no space\rid: 7\r\r" +
  ": keep-alive\n\n" +
  "event: rollup.finished\ndata\ndata: \n\n";

const EXPECTED: SSEMessage[] = [
  { id: "1", event: "capture.started", data: '{"id":1}' },
  { id: "2", event: "capture.progress", data: "line one\nline two" },
  { id: "7", event: "message", data: "no space" },
  { id: "7", event: "rollup.finished", data: "\n" },
];

describe("SSEParser", () => {
  it("parses a whole stream: ids, events, multi-line data, comments, any line ending", () => {
    const { msgs, parser } = parseAll([STREAM]);
    assert.deepEqual(msgs, EXPECTED);
    assert.equal(parser.retry, 2500);
    assert.equal(parser.lastEventId, "7");
  });

  it("gives the same messages however the stream is split into chunks", () => {
    for (let i = 0; i <= STREAM.length; i++) {
      const { msgs } = parseAll([STREAM.slice(0, i), STREAM.slice(i)]);
      assert.deepEqual(msgs, EXPECTED, `split at ${i}`);
    }
    for (let i = 1; i < STREAM.length; i += 3) {
      for (let j = i; j <= STREAM.length; j += 7) {
        const { msgs } = parseAll([STREAM.slice(0, i), STREAM.slice(i, j), STREAM.slice(j)]);
        assert.deepEqual(msgs, EXPECTED, `split at ${i} and ${j}`);
      }
    }
    const { msgs } = parseAll(STREAM.split(""));
    assert.deepEqual(msgs, EXPECTED, "one character at a time");
  });

  it("waits for the blank line before dispatching, and drops an unfinished event at the end", () => {
    const msgs: SSEMessage[] = [];
    const p = new SSEParser((m) => msgs.push(m));
    p.push("data: a\n");
    assert.equal(msgs.length, 0);
    p.push("\ndata: b\n");
    assert.deepEqual(msgs, [{ id: "", event: "message", data: "a" }]);
    p.end();
    assert.equal(msgs.length, 1);
  });

  it("does not dispatch events without data, but their id still counts", () => {
    const { msgs, parser } = parseAll(["id: 41\nevent: x\n\n", "data: y\n\n"]);
    assert.equal(parser.lastEventId, "41");
    assert.deepEqual(msgs, [{ id: "41", event: "message", data: "y" }]);
  });

  it("keeps the last id across events and starts from the one given", () => {
    const { msgs } = parseAll(["data: a\n\nid: 9\ndata: b\n\ndata: c\n\nid\ndata: d\n\n"], "3");
    assert.deepEqual(
      msgs.map((m) => m.id),
      ["3", "9", "9", ""],
    );
  });

  it("ignores unknown fields, ids with NUL and non-numeric retry", () => {
    const { msgs, parser } = parseAll(["foo: bar\nid: 5\nid: a\0b\nretry: 10s\ndata: x\n\n"]);
    assert.deepEqual(msgs, [{ id: "5", event: "message", data: "x" }]);
    assert.equal(parser.retry, null);
  });

  it("strips a leading byte order mark and only one space after the colon", () => {
    const { msgs } = parseAll(["\uFEFFdata:  two spaces\n\n"]);
    assert.deepEqual(msgs, [{ id: "", event: "message", data: " two spaces" }]);
  });

  it("ends a line on a final CR at end of stream", () => {
    const msgs: SSEMessage[] = [];
    const p = new SSEParser((m) => msgs.push(m));
    p.push("data: x\n\r");
    assert.equal(msgs.length, 0);
    p.end();
    assert.deepEqual(msgs, [{ id: "", event: "message", data: "x" }]);
  });
});

/** body makes a streamed response body from text chunks (bytes may split characters). */
function body(chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(ctl) {
      const c = chunks[i++];
      if (c === undefined) ctl.close();
      else ctl.enqueue(typeof c === "string" ? enc.encode(c) : c);
    },
  });
}

interface Call {
  url: string;
  headers: Record<string, string>;
}

function fakeFetch(responses: (() => Response)[]): { fetch: FetchLike; calls: Call[] } {
  const calls: Call[] = [];
  const fetch: FetchLike = (url, init) => {
    calls.push({ url, headers: { ...(init.headers as Record<string, string>) } });
    const next = responses.shift();
    if (!next) return Promise.reject(new Error("no more responses"));
    return Promise.resolve(next());
  };
  return { fetch, calls };
}

describe("LiveEvents", () => {
  it("reconnects with backoff and resumes with Last-Event-ID", async () => {
    const euro = new TextEncoder().encode("data: 5€\n\n");
    const { fetch, calls } = fakeFetch([
      () => new Response(body(["id: 1\nevent: a\ndata: one\n\n", "id: 2\ndata: tw", "o\n\n", "data: partial"]), { status: 200 }),
      () => {
        throw new Error("network down");
      },
      () => new Response("oops", { status: 503 }),
      () => new Response(body([euro.slice(0, 8), euro.slice(8), "id: 3\ndata: three\n\n"]), { status: 200 }),
      () => new Response(body(["retry: 50\n: ping\n\n"]), { status: 200 }),
    ]);
    const got: SSEMessage[] = [];
    const sleeps: number[] = [];
    const errors: string[] = [];
    let opens = 0;
    let ev: LiveEvents | null = null;
    ev = new LiveEvents({
      url: "/api/v1/events?stream=lobby",
      headers: () => ({ Authorization: "Bearer t0k" }),
      fetch,
      initialDelay: 100,
      maxDelay: 1000,
      idleTimeout: 0,
      random: () => 0.5,
      onOpen: () => opens++,
      onError: (e) => errors.push(e instanceof Error ? e.message : String(e)),
      onMessage: (m) => got.push(m),
      sleep: (ms) => {
        sleeps.push(ms);
        // After the fifth connection, stop.
        if (calls.length >= 5) ev?.close();
        return Promise.resolve();
      },
    });
    await ev.start();

    assert.deepEqual(
      got.map((m) => [m.id, m.event, m.data]),
      [
        ["1", "a", "one"],
        ["2", "message", "two"],
        ["2", "message", "5€"],
        ["3", "message", "three"],
      ],
    );
    assert.equal(calls.length, 5);
    assert.equal(calls[0]?.url, "/api/v1/events?stream=lobby");
    assert.equal(calls[0]?.headers["Last-Event-ID"], undefined);
    assert.equal(calls[0]?.headers.Authorization, "Bearer t0k");
    assert.equal(calls[0]?.headers.Accept, "text/event-stream");
    for (const c of calls.slice(1, 4)) assert.equal(c.headers["Last-Event-ID"], "2");
    assert.equal(calls[4]?.headers["Last-Event-ID"], "3");
    // 100 after a stream that delivered; doubled for each failure in a row
    // after it; back to 100 after the next good stream; then the server's
    // retry: 50 as the new base.
    assert.deepEqual(sleeps, [100, 200, 400, 100, 50]);
    assert.equal(opens, 3);
    assert.ok(errors.includes("network down"));
    assert.ok(errors.some((e) => e.includes("503")));
    assert.equal(ev.lastEventId, "3");
  });

  it("stops on 401 and says so", async () => {
    const { fetch, calls } = fakeFetch([() => new Response('{"error":"missing token"}', { status: 401 })]);
    let unauthorized = 0;
    const ev = new LiveEvents({
      url: "/api/v1/events",
      fetch,
      idleTimeout: 0,
      onMessage: () => undefined,
      onUnauthorized: () => unauthorized++,
      sleep: () => Promise.reject(new Error("must not wait")),
    });
    await ev.start();
    assert.equal(calls.length, 1);
    assert.equal(unauthorized, 1);
    assert.ok(ev.closed);
  });

  it("stops on 204 and on other 4xx answers", async () => {
    for (const status of [204, 400, 404]) {
      const { fetch, calls } = fakeFetch([() => new Response(null, { status })]);
      const ev = new LiveEvents({ url: "/e", fetch, idleTimeout: 0, onMessage: () => undefined });
      await ev.start();
      assert.equal(calls.length, 1, `status ${status}`);
    }
  });

  it("close() ends a connection in progress", async () => {
    const box: { ctl: ReadableStreamDefaultController<Uint8Array> | null } = { ctl: null };
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        box.ctl = c;
      },
    });
    const fetch: FetchLike = (_url, init) => {
      init.signal?.addEventListener("abort", () => {
        box.ctl?.error(new DOMException("aborted", "AbortError"));
      });
      return Promise.resolve(new Response(stream, { status: 200 }));
    };
    const got: string[] = [];
    const ev = new LiveEvents({ url: "/e", fetch, idleTimeout: 0, onMessage: (m) => got.push(m.data) });
    const done = ev.start();
    await new Promise((r) => setTimeout(r, 5));
    box.ctl?.enqueue(new TextEncoder().encode("data: x\n\n"));
    await new Promise((r) => setTimeout(r, 5));
    ev.close();
    await done;
    assert.deepEqual(got, ["x"]);
  });

  it("reconnects a connection that stays silent past the idle timeout", async () => {
    const fetch: FetchLike = (_url, init) =>
      new Promise((resolve) => {
        const s = new ReadableStream<Uint8Array>({
          start(c) {
            init.signal?.addEventListener("abort", () => c.error(new DOMException("aborted", "AbortError")));
          },
        });
        resolve(new Response(s, { status: 200 }));
      });
    let ev: LiveEvents | null = null;
    let opens = 0;
    ev = new LiveEvents({
      url: "/e",
      fetch,
      idleTimeout: 10,
      onOpen: () => {
        opens++;
        if (opens === 2) ev?.close();
      },
      onMessage: () => undefined,
      sleep: () => Promise.resolve(),
    });
    await ev.start();
    assert.equal(opens, 2);
  });

  it("backoff doubles up to the maximum", () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 60].map((n) => backoff(n, 1000, 30000)),
      [1000, 2000, 4000, 8000, 16000, 30000, 30000],
    );
  });
});
