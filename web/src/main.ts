// The dashboard's entry: hash routing between the pages, the token form on
// any 401, and the header's navigation.

import "uplot/dist/uPlot.min.css";
import "./style.css";

import { clearError, createContext, type PageName } from "./app";
import { getToken, onUnauthorized, setToken } from "./lib/api";
import { h, replace } from "./lib/dom";
import { parseRoute, type Route } from "./lib/route";
import { capturePage } from "./pages/capture";
import { overviewPage } from "./pages/overview";
import { rankingsPage } from "./pages/rankings";
import { streamPage } from "./pages/stream";

const app = document.getElementById("app") ?? document.body.appendChild(h("main", { id: "app" }));
let leave: (() => void) | null = null;
let askingToken = false;

function pageName(r: Route): PageName {
  return r.page;
}

function markNav(r: Route): void {
  for (const a of Array.from(document.querySelectorAll<HTMLAnchorElement>("header nav a"))) {
    const active = (a.dataset.nav === "overview" && (r.page === "overview" || r.page === "stream" || r.page === "capture")) ||
      (a.dataset.nav === "rankings" && r.page === "rankings");
    if (active) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

function updateTokenButton(): void {
  const b = document.getElementById("forget-token");
  if (b) b.hidden = !getToken();
}

function render(): void {
  leave?.();
  leave = null;
  askingToken = false;
  delete document.body.dataset.ready;
  clearError();
  const route = parseRoute(location.hash);
  markNav(route);
  updateTokenButton();
  const page = h("div", { class: "page", "data-page": route.page });
  replace(app, page);
  const made = createContext(page, pageName(route));
  leave = made.leave;
  const ctx = made.ctx;
  switch (route.page) {
    case "overview":
      document.title = "Sightline";
      overviewPage(ctx);
      break;
    case "stream":
      document.title = `${route.id} · Sightline`;
      streamPage(ctx, route.id, route);
      break;
    case "capture":
      document.title = `${route.id} · Sightline`;
      capturePage(ctx, route.id);
      break;
    case "rankings":
      document.title = "Rankings · Sightline";
      rankingsPage(ctx, route.object);
      break;
    case "notfound":
      document.title = "Not found · Sightline";
      replace(
        page,
        h("div", { class: "card" }, h("h1", null, "Page not found"), h("p", null, "No page at ", h("code", null, route.path), ". "), h("a", { href: "#/" }, "Back to the overview")),
      );
      ctx.ready();
      break;
  }
}

/** askToken replaces the page with the token form, once, until a token is given. */
function askToken(): void {
  if (askingToken) return;
  leave?.();
  leave = null;
  askingToken = true;
  delete document.body.dataset.ready;
  clearError();
  const had = getToken();
  const input = h("input", {
    type: "password",
    name: "token",
    required: true,
    autocomplete: "current-password",
    placeholder: "API token",
    "aria-label": "API token",
  });
  const form = h(
    "form",
    { "data-testid": "token-form", class: "card token-form" },
    h("h1", null, "API token"),
    h(
      "p",
      null,
      had
        ? "The API refused the stored token. Enter a valid one (the read token is enough to look; starting captures needs the write token)."
        : "This Sightline API needs a bearer token. Enter it to continue (the read token is enough to look; starting captures needs the write token).",
    ),
    h("div", { class: "row" }, input, h("button", { type: "submit", class: "primary" }, "Continue")),
    h("p", { class: "muted small" }, "It is kept in this browser's local storage."),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const t = input.value.trim();
    if (!t) return;
    setToken(t);
    render();
  });
  replace(app, form);
  input.focus();
}

onUnauthorized(askToken);

document.getElementById("forget-token")?.addEventListener("click", () => {
  setToken("");
  render();
});

window.addEventListener("hashchange", render);
// Links to the current page re-render it (e.g. clicking Overview on the overview).
document.addEventListener("click", (e) => {
  const a = e.target instanceof Element ? e.target.closest("a") : null;
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const target = a.getAttribute("href");
  if (target && target.startsWith("#") && target === location.hash && !askingToken) {
    e.preventDefault();
    render();
  }
});
render();
