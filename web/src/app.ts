// What every page gets: a root, an abort signal for its requests, the error
// banner, its live event stream and the ready flag tests wait for.

import { ApiError, authHeaders, isAbort, notifyUnauthorized, url, type Query } from "./lib/api";
import { h } from "./lib/dom";
import { LiveEvents } from "./lib/sse";
import type { PipelineEvent } from "./types";

export type PageName = "overview" | "stream" | "capture" | "rankings" | "notfound";

export interface PageContext {
  root: HTMLElement;
  /** Aborted when the page is left. */
  signal: AbortSignal;
  /** Marks the page's first data as rendered. */
  ready(): void;
  /** Shows a failure in the banner; aborts and 401s (the token form) are not shown. */
  fail(err: unknown): void;
  /** Runs fn when the page is left. */
  onLeave(fn: () => void): void;
  /** Opens the page's live event stream (one per page). */
  live(query: Query, handler: (ev: PipelineEvent) => void): void;
}

function bannerHost(): HTMLElement {
  return document.getElementById("banner") ?? document.body;
}

export function clearError(): void {
  bannerHost().textContent = "";
}

/** showError puts a message in the banner ([data-testid="error"]), replacing the previous one. */
export function showError(message: string): void {
  const host = bannerHost();
  host.textContent = "";
  const close = h("button", { type: "button", class: "banner-close", "aria-label": "Dismiss", title: "Dismiss" });
  const el = h("div", { class: "banner", role: "alert", "data-testid": "error" }, h("span", null, message), close);
  close.addEventListener("click", () => el.remove());
  host.appendChild(el);
}

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** report shows an error unless it is a page being left or a missing token. */
export function report(err: unknown): void {
  if (isAbort(err)) return;
  if (err instanceof ApiError && err.status === 401) return;
  showError(errorMessage(err));
}

function setLiveState(state: "open" | "connecting" | "reconnecting" | "off"): void {
  const el = document.getElementById("live");
  if (!el) return;
  el.dataset.state = state;
  el.textContent = state === "open" ? "live" : state === "off" ? "" : `${state}…`;
  el.title = state === "open" ? "Receiving live events" : state === "off" ? "" : "Connecting to live events";
}

export function createContext(root: HTMLElement, page: PageName): { ctx: PageContext; leave: () => void } {
  const ctl = new AbortController();
  const leaveFns: (() => void)[] = [];
  let events: LiveEvents | null = null;
  const ctx: PageContext = {
    root,
    signal: ctl.signal,
    ready() {
      if (!ctl.signal.aborted) document.body.dataset.ready = page;
    },
    fail(err) {
      if (!ctl.signal.aborted) report(err);
    },
    onLeave(fn) {
      leaveFns.push(fn);
    },
    live(query, handler) {
      events?.close();
      setLiveState("connecting");
      const ev = new LiveEvents({
        url: url("/events", query),
        headers: authHeaders,
        onOpen: () => setLiveState("open"),
        onError: () => {
          if (!ev.closed) setLiveState("reconnecting");
        },
        onUnauthorized: () => {
          setLiveState("off");
          notifyUnauthorized();
        },
        onMessage: (m) => {
          // The server says it failed to read events, then ends the stream.
          if (m.event === "error") return;
          let parsed: PipelineEvent;
          try {
            parsed = JSON.parse(m.data) as PipelineEvent;
          } catch {
            return; // not an event of ours
          }
          if (!parsed || typeof parsed !== "object") return;
          if (!parsed.type) parsed.type = m.event;
          try {
            handler(parsed);
          } catch (err) {
            ctx.fail(err);
          }
        },
      });
      events = ev;
      ev.start().catch(() => undefined);
    },
  };
  const leave = (): void => {
    ctl.abort();
    events?.close();
    events = null;
    setLiveState("off");
    for (const fn of leaveFns.splice(0)) {
      try {
        fn();
      } catch {
        // leaving must not fail
      }
    }
  };
  return { ctx, leave };
}

/** settle runs loaders side by side and resolves once all have ended, reporting failures. */
export async function settle(ctx: PageContext, ...loaders: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(loaders);
  for (const r of results) if (r.status === "rejected") ctx.fail(r.reason);
}
