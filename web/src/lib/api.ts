// The API client: same origin, base /api/v1, an optional bearer token kept in
// localStorage. Every failure becomes an ApiError carrying the API's message.

export const API_BASE = "/api/v1";
export const TOKEN_KEY = "sightline.token";

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/** isAbort tells an aborted request (a page left) from a real failure. */
export function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === "AbortError";
}

export function isStatus(err: unknown, status: number): boolean {
  return err instanceof ApiError && err.status === status;
}

function storage(): Storage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null;
  }
}

export function getToken(): string {
  return storage()?.getItem(TOKEN_KEY) ?? "";
}

export function setToken(token: string): void {
  const s = storage();
  if (!s) return;
  if (token) s.setItem(TOKEN_KEY, token);
  else s.removeItem(TOKEN_KEY);
}

export function authHeaders(): Record<string, string> {
  const t = getToken();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

let unauthorized: () => void = () => undefined;

/** onUnauthorized sets what runs when any request answers 401. */
export function onUnauthorized(fn: () => void): void {
  unauthorized = fn;
}

export function notifyUnauthorized(): void {
  unauthorized();
}

export type Query = Record<string, string | number | boolean | null | undefined>;

/** url joins the API base, a path and the query values that are set. */
export function url(path: string, query?: Query): string {
  let u = API_BASE + path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === null || v === undefined || v === "") continue;
      q.set(k, String(v));
    }
    const s = q.toString();
    if (s) u += (u.includes("?") ? "&" : "?") + s;
  }
  return u;
}

/** errorText reads the API's {"error": "..."} body, or makes a message up. */
async function errorText(res: Response): Promise<string> {
  const fallback = `${res.status} ${res.statusText || "error"}`.trim();
  try {
    const text = await res.text();
    if (!text) return fallback;
    try {
      const body = JSON.parse(text) as unknown;
      if (body && typeof body === "object" && "error" in body) {
        const e = (body as { error: unknown }).error;
        if (typeof e === "string" && e) return e;
      }
    } catch {
      // not JSON: use the text itself
    }
    return text.length > 300 ? fallback : text;
  } catch {
    return fallback;
  }
}

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
}

/** raw sends a request and returns the response when it is a 2xx. */
export async function raw(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = authHeaders();
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(url(path, opts.query), { method, headers, body, signal: opts.signal });
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new ApiError(0, `cannot reach the API (${err instanceof Error ? err.message : String(err)})`);
  }
  if (res.ok) return res;
  if (res.status === 401) notifyUnauthorized();
  throw new ApiError(res.status, await errorText(res));
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await raw(method, path, opts);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(res.status, `the API answered ${method} ${path} with something that is not JSON`);
  }
}

export const api = {
  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return request<T>("GET", path, { query, signal });
  },
  post<T>(path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    return request<T>("POST", path, { body, signal });
  },
  del<T>(path: string, signal?: AbortSignal): Promise<T> {
    return request<T>("DELETE", path, { signal });
  },
};

/** enc escapes one path segment. */
export function enc(segment: string): string {
  return encodeURIComponent(segment);
}

/**
 * imageURL fetches an image with the token and returns an object URL for it
 * (an <img src> cannot send the Authorization header). The caller revokes it.
 */
export async function imageURL(path: string, signal?: AbortSignal): Promise<string> {
  const p = path.startsWith(API_BASE) ? path.slice(API_BASE.length) : path;
  const res = await raw("GET", p, { signal });
  const blob = await res.blob();
  return URL.createObjectURL(blob);
}
