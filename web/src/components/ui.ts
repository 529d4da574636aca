// Small shared pieces: status badges, form fields and form reading.

import { h, type Child } from "../lib/dom";
import type { FormValues } from "../lib/settings";
import type { Model } from "../types";

export function badge(status: string): HTMLSpanElement {
  return h("span", { class: `badge status-${status}` }, status);
}

/** formValues reads a form by input name: checkboxes as booleans, the rest as text. */
export function formValues(form: HTMLFormElement): FormValues {
  const out: FormValues = {};
  for (const el of Array.from(form.elements)) {
    if (el instanceof HTMLInputElement) {
      if (!el.name) continue;
      out[el.name] = el.type === "checkbox" ? el.checked : el.value;
    } else if (el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement) {
      if (el.name) out[el.name] = el.value;
    }
  }
  return out;
}

interface FieldOpts {
  label: string;
  name: string;
  type?: "text" | "number" | "checkbox";
  placeholder?: string;
  hint?: string;
  step?: string;
  wide?: boolean;
}

export function field(o: FieldOpts, control?: HTMLElement): HTMLElement {
  const input =
    control ??
    h("input", {
      type: o.type ?? "text",
      name: o.name,
      placeholder: o.placeholder,
      step: o.type === "number" ? (o.step ?? "any") : undefined,
      min: o.type === "number" ? 0 : undefined,
      inputmode: o.type === "number" ? "decimal" : undefined,
      autocomplete: "off",
    });
  if (o.type === "checkbox") {
    return h("label", { class: "field check", title: o.hint }, input, h("span", null, o.label));
  }
  const kids: Child[] = [h("span", { class: "field-label" }, o.label), input];
  if (o.hint) kids.push(h("small", { class: "muted" }, o.hint));
  return h("label", { class: o.wide ? "field wide" : "field", title: o.hint }, kids);
}

/**
 * settingsFields builds the inputs of a capture's settings, named as
 * settingsFromValues reads them (with an optional prefix).
 */
export function settingsFields(models: Model[] | null, prefix = ""): HTMLElement[] {
  const n = (s: string): string => prefix + s;
  const modelSelect = h(
    "select",
    { name: n("detect_model") },
    h("option", { value: "" }, "Stream's setting"),
    (models ?? []).map((m) => h("option", { value: m.name }, m.default ? `${m.name} (default)` : m.name)),
  );
  const classHints = [...new Set((models ?? []).flatMap((m) => m.classes ?? []))];
  const listId = `${prefix || "capture-"}classes-list`;
  const classes = h("input", {
    type: "text",
    name: n("detect_classes"),
    placeholder: "person, car",
    autocomplete: "off",
    list: classHints.length ? listId : undefined,
  });
  return [
    field({ label: "Sample every (ms)", name: n("every_ms"), type: "number", placeholder: "0: every frame" }),
    field({ label: "Frames per chunk", name: n("chunk_frames"), type: "number", placeholder: "50" }),
    field({ label: "Max frames", name: n("max_frames"), type: "number", placeholder: "0: no limit" }),
    field({
      label: "Duration (s)",
      name: n("duration_seconds"),
      type: "number",
      placeholder: "0: no limit",
      hint: "Stream time for files, wall-clock time for live sources",
    }),
    field({ label: "Model", name: n("detect_model") }, modelSelect),
    h(
      "span",
      { class: "field-wrap" },
      field({ label: "Classes", name: n("detect_classes"), hint: "Comma-separated; empty keeps the stream's" }, classes),
      classHints.length ? h("datalist", { id: listId }, classHints.map((c) => h("option", { value: c }))) : null,
    ),
    field({ label: "Min score", name: n("detect_min_score"), type: "number", step: "0.05", placeholder: "model's" }),
    field({ label: "Detect task queue", name: n("detect_task_queue"), placeholder: "default" }),
    field({ label: "Detect concurrency", name: n("detect_concurrency"), type: "number", placeholder: "4" }),
    field({ label: "GPU", name: n("gpu"), type: "checkbox", hint: "Send detection to the GPU workers" }),
    field({ label: "Skip rollup", name: n("skip_rollup"), type: "checkbox", hint: "Leave the rollup to a later run" }),
  ];
}

/** formError shows (or clears, with null) a form's error next to it. */
export function setFormError(host: HTMLElement, testid: string, message: string | null): void {
  host.textContent = "";
  if (message) host.appendChild(h("div", { class: "form-error", role: "alert", "data-testid": testid }, message));
}
