// Hash routes: #/, #/streams/<id>[?range=7d&bucket=hour], #/captures/<id>,
// #/rankings[?object=X].

export type Route =
  | { page: "overview" }
  | { page: "stream"; id: string; range?: string | null; bucket?: string | null }
  | { page: "capture"; id: string }
  | { page: "rankings"; object: string | null }
  | { page: "notfound"; path: string };

function decode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

/** parseRoute reads a location hash ("#/streams/lobby", "" or "#") into a route. */
export function parseRoute(hash: string): Route {
  let h = hash.startsWith("#") ? hash.slice(1) : hash;
  let query = "";
  const q = h.indexOf("?");
  if (q >= 0) {
    query = h.slice(q + 1);
    h = h.slice(0, q);
  }
  if (!h.startsWith("/")) h = "/" + h;
  const parts = h.split("/").filter((p) => p !== "");
  if (parts.length === 0) return { page: "overview" };
  const [head, ...rest] = parts;
  const params = new URLSearchParams(query);
  if ((head === "streams" || head === "captures") && rest.length === 1) {
    const id = decode(rest[0] ?? "");
    if (id && head === "captures") return { page: "capture", id };
    if (id) return { page: "stream", id, range: params.get("range") || null, bucket: params.get("bucket") || null };
  }
  if (head === "rankings" && rest.length === 0) {
    return { page: "rankings", object: params.get("object") || null };
  }
  return { page: "notfound", path: h };
}

/** href builds the hash for a route. */
export function href(route: Route): string {
  switch (route.page) {
    case "overview":
      return "#/";
    case "stream": {
      const q = new URLSearchParams();
      if (route.range) q.set("range", route.range);
      if (route.bucket) q.set("bucket", route.bucket);
      const qs = q.toString();
      return `#/streams/${encodeURIComponent(route.id)}${qs ? `?${qs}` : ""}`;
    }
    case "capture":
      return `#/captures/${encodeURIComponent(route.id)}`;
    case "rankings":
      return route.object ? `#/rankings?object=${encodeURIComponent(route.object)}` : "#/rankings";
    case "notfound":
      return `#${route.path}`;
  }
}

export const streamHref = (id: string): string => href({ page: "stream", id });
export const captureHref = (id: string): string => href({ page: "capture", id });
