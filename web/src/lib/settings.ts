// Form values → the JSON bodies of POST /streams/{id}/captures and POST /schedules.
// Empty fields are left out, so the API applies its defaults.

export interface CaptureSettings {
  every_ms?: number;
  chunk_frames?: number;
  max_frames?: number;
  duration_seconds?: number;
  detect?: { model?: string; filter?: { classes?: string[]; min_score?: number } };
  gpu?: boolean;
  detect_task_queue?: string;
  detect_concurrency?: number;
  skip_rollup?: boolean;
}

export interface ScheduleSpec {
  stream_id: string;
  id?: string;
  every?: string;
  cron?: string;
  offset?: string;
  paused?: boolean;
  note?: string;
  capture?: CaptureSettings;
}

/** A form's values by input name: text for text inputs and selects, booleans for checkboxes. */
export type FormValues = Record<string, string | boolean | undefined>;

export class FieldError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = "FieldError";
    this.field = field;
  }
}

/** The capture settings fields of the start-capture form, in order. */
export const SETTINGS_FIELDS = [
  "every_ms",
  "chunk_frames",
  "max_frames",
  "duration_seconds",
  "detect_model",
  "detect_classes",
  "detect_min_score",
  "gpu",
  "detect_task_queue",
  "detect_concurrency",
  "skip_rollup",
] as const;

function text(v: FormValues, name: string, prefix = ""): string {
  const x = v[prefix + name];
  return typeof x === "string" ? x.trim() : "";
}

function num(v: FormValues, name: string, prefix = ""): number | undefined {
  const s = text(v, name, prefix);
  if (s === "") return undefined;
  const n = Number(s);
  if (!Number.isFinite(n)) throw new FieldError(name, `"${s}" is not a number`);
  return n;
}

function flag(v: FormValues, name: string, prefix = ""): boolean {
  const x = v[prefix + name];
  return x === true || x === "on" || x === "true";
}

/** parseClasses splits "person, car,,dog" into ["person", "car", "dog"], without repeats. */
export function parseClasses(s: string): string[] {
  const out: string[] = [];
  for (const part of s.split(",")) {
    const c = part.trim();
    if (c && !out.includes(c)) out.push(c);
  }
  return out;
}

/**
 * settingsFromValues builds a CaptureSettings body from fields named as in
 * SETTINGS_FIELDS (after prefix); fields left empty are omitted.
 */
export function settingsFromValues(v: FormValues, prefix = ""): CaptureSettings {
  const out: CaptureSettings = {};
  const every = num(v, "every_ms", prefix);
  if (every !== undefined) out.every_ms = every;
  const chunk = num(v, "chunk_frames", prefix);
  if (chunk !== undefined) out.chunk_frames = chunk;
  const max = num(v, "max_frames", prefix);
  if (max !== undefined) out.max_frames = max;
  const dur = num(v, "duration_seconds", prefix);
  if (dur !== undefined) out.duration_seconds = dur;

  const model = text(v, "detect_model", prefix);
  const classes = parseClasses(text(v, "detect_classes", prefix));
  const minScore = num(v, "detect_min_score", prefix);
  if (model || classes.length > 0 || minScore !== undefined) {
    const detect: NonNullable<CaptureSettings["detect"]> = {};
    if (model) detect.model = model;
    if (classes.length > 0 || minScore !== undefined) {
      detect.filter = {};
      if (classes.length > 0) detect.filter.classes = classes;
      if (minScore !== undefined) detect.filter.min_score = minScore;
    }
    out.detect = detect;
  }

  if (flag(v, "gpu", prefix)) out.gpu = true;
  const queue = text(v, "detect_task_queue", prefix);
  if (queue) out.detect_task_queue = queue;
  const conc = num(v, "detect_concurrency", prefix);
  if (conc !== undefined) out.detect_concurrency = conc;
  if (flag(v, "skip_rollup", prefix)) out.skip_rollup = true;
  return out;
}

/** The prefix of the schedule form's capture settings fields (capture_every_ms, ...). */
export const SCHEDULE_SETTINGS_PREFIX = "capture_";

/** scheduleFromValues builds a ScheduleSpec body for a stream. */
export function scheduleFromValues(streamId: string, v: FormValues): ScheduleSpec {
  const out: ScheduleSpec = { stream_id: streamId };
  const id = text(v, "id");
  if (id) out.id = id;
  const every = text(v, "every");
  const cron = text(v, "cron");
  if (every) out.every = every;
  if (cron) out.cron = cron;
  const offset = text(v, "offset");
  if (offset) out.offset = offset;
  if (flag(v, "paused")) out.paused = true;
  const note = text(v, "note");
  if (note) out.note = note;
  const capture = settingsFromValues(v, SCHEDULE_SETTINGS_PREFIX);
  if (Object.keys(capture).length > 0) out.capture = capture;
  return out;
}
