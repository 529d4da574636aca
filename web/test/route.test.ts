import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { captureHref, href, parseRoute, streamHref, type Route } from "../src/lib/route";

describe("parseRoute", () => {
  it("reads every page", () => {
    assert.deepEqual(parseRoute(""), { page: "overview" });
    assert.deepEqual(parseRoute("#"), { page: "overview" });
    assert.deepEqual(parseRoute("#/"), { page: "overview" });
    assert.deepEqual(parseRoute("#/streams/lobby"), { page: "stream", id: "lobby", range: null, bucket: null });
    assert.deepEqual(parseRoute("#/streams/lobby/"), { page: "stream", id: "lobby", range: null, bucket: null });
    assert.deepEqual(parseRoute("#/streams/year?range=1y"), { page: "stream", id: "year", range: "1y", bucket: null });
    assert.deepEqual(parseRoute("#/streams/year?bucket=day&range=30d"), { page: "stream", id: "year", range: "30d", bucket: "day" });
    assert.deepEqual(parseRoute("#/captures/capture-lobby-20240501T120000Z-3fa9"), {
      page: "capture",
      id: "capture-lobby-20240501T120000Z-3fa9",
    });
    assert.deepEqual(parseRoute("#/rankings"), { page: "rankings", object: null });
    assert.deepEqual(parseRoute("#/rankings?object=person"), { page: "rankings", object: "person" });
    assert.deepEqual(parseRoute("#/rankings?object=traffic%20light"), { page: "rankings", object: "traffic light" });
    assert.deepEqual(parseRoute("#/rankings?object="), { page: "rankings", object: null });
  });

  it("decodes ids, including the colons of scheduled captures", () => {
    assert.deepEqual(parseRoute("#/captures/capture-lobby-sched-2024-05-01T12%3A00%3A00Z"), {
      page: "capture",
      id: "capture-lobby-sched-2024-05-01T12:00:00Z",
    });
    assert.deepEqual(parseRoute("#/captures/capture-lobby-sched-2024-05-01T12:00:00Z"), {
      page: "capture",
      id: "capture-lobby-sched-2024-05-01T12:00:00Z",
    });
  });

  it("reports what it does not know", () => {
    assert.deepEqual(parseRoute("#/nope"), { page: "notfound", path: "/nope" });
    assert.deepEqual(parseRoute("#/streams"), { page: "notfound", path: "/streams" });
    assert.deepEqual(parseRoute("#/streams/a/b"), { page: "notfound", path: "/streams/a/b" });
    assert.deepEqual(parseRoute("#/streams/%E0%A4%A"), { page: "notfound", path: "/streams/%E0%A4%A" });
  });
});

describe("href", () => {
  it("round-trips through parseRoute", () => {
    const routes: Route[] = [
      { page: "overview" },
      { page: "stream", id: "lobby", range: null, bucket: null },
      { page: "stream", id: "lobby", range: "7d", bucket: "hour" },
      { page: "capture", id: "capture-x-sched-2024-05-01T12:00:00Z" },
      { page: "rankings", object: null },
      { page: "rankings", object: "traffic light" },
    ];
    for (const r of routes) assert.deepEqual(parseRoute(href(r)), r);
    assert.equal(streamHref("lobby"), "#/streams/lobby");
    assert.equal(href({ page: "stream", id: "year", range: "1y" }), "#/streams/year?range=1y");
    assert.equal(captureHref("c:1"), "#/captures/c%3A1");
  });
});
