// A few helpers to build DOM trees without a framework.

export type Child = Node | string | number | null | undefined | false;

export type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/**
 * h creates an element. Attributes whose name starts with "on" and whose value
 * is a function become listeners; true sets a boolean attribute, false/null/
 * undefined leave it out; "class" and "style" are set as attributes.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (typeof value === "function") {
        el.addEventListener(name.slice(2).toLowerCase(), value);
      } else if (value === true) {
        el.setAttribute(name, "");
      } else {
        el.setAttribute(name, String(value));
      }
    }
  }
  append(el, children);
  return el;
}

/** append adds children, flattening arrays and skipping empty ones. */
export function append(parent: Node, children: (Child | Child[])[]): void {
  for (const c of children) {
    if (Array.isArray(c)) {
      append(parent, c);
    } else if (c !== null && c !== undefined && c !== false) {
      parent.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
    }
  }
}

/** replace swaps an element's children for new ones. */
export function replace(parent: Element, ...children: (Child | Child[])[]): void {
  parent.textContent = "";
  append(parent, children);
}

/** setText changes a node's text only when it differs, keeping layout still. */
export function setText(el: Element | null | undefined, text: string): void {
  if (el && el.textContent !== text) el.textContent = text;
}

/** card wraps a titled section of a page. */
export function card(title: string, testid: string | null, ...body: (Child | Child[])[]): HTMLElement {
  return h("section", { class: "card", "data-section": testid ?? undefined }, h("h2", null, title), ...body);
}

/** table builds a table with a header row; rows go in its tbody. */
export function table(
  testid: string,
  headers: string[],
): { table: HTMLTableElement; body: HTMLTableSectionElement } {
  const body = h("tbody");
  const t = h(
    "table",
    { "data-testid": testid },
    h("thead", null, h("tr", null, headers.map((x) => h("th", { scope: "col" }, x)))),
    body,
  );
  return { table: t, body };
}

/** emptyRow is the row a table shows when it has nothing to list. */
export function emptyRow(columns: number, text: string): HTMLTableRowElement {
  return h("tr", { class: "empty" }, h("td", { colspan: columns }, text));
}

/** link is an in-page link to a hash route. */
export function link(href: string, text: string, attrs?: Attrs): HTMLAnchorElement {
  return h("a", { href, ...attrs }, text);
}
