// Shapes of the API's answers (api/openapi.yaml), as far as the dashboard reads them.

export type CaptureState = "pending" | "running" | "completed" | "failed" | "canceled";

export interface DetectFilter {
  classes?: string[] | null;
  min_score?: number;
  class_min_score?: Record<string, number> | null;
}

export interface DetectConfig {
  model?: string;
  filter?: DetectFilter | null;
}

export interface CaptureSummary {
  id: string;
  status: CaptureState;
  started_at: string;
  finished_at: string | null;
  frames_captured: number;
  max_frames?: number;
}

export interface Stream {
  id: string;
  name: string;
  source: string;
  detect?: DetectConfig | null;
  tracking?: TrackingConfig | null;
  created_at: string;
  updated_at: string;
  last_capture?: CaptureSummary | null;
}

export interface Capture {
  id: string;
  stream_id: string;
  status: CaptureState;
  source: string;
  every_ms: number;
  chunk_frames: number;
  started_at: string;
  finished_at: string | null;
  frames_captured: number;
  error: string | null;
  gaps?: number;
  max_frames?: number;
}

export interface CaptureProgress {
  phase: string;
  frames_captured: number;
  chunks: number;
  chunks_detected: number;
  frames_analysed: number;
  detections: number;
  lag_ms: number;
  max_lag_ms: number;
}

export interface Gap {
  gap_index: number;
  started_at: string;
  ended_at: string | null;
  reason: string;
}

export interface CaptureStatus {
  capture_id: string;
  stream_id?: string;
  status: CaptureState;
  /** Whether a captures row exists (older servers leave it out). */
  recorded?: boolean;
  source?: string;
  every_ms?: number;
  chunk_frames?: number;
  started_at?: string;
  finished_at: string | null;
  frames_captured: number;
  error: string | null;
  chunks_written: number;
  chunks_detected: number;
  frames_analysed: number;
  detections: number;
  progress?: CaptureProgress | null;
  gaps?: Gap[] | null;
  max_frames?: number;
}

export interface Detection {
  class_id: number;
  class: string;
  score: number;
  box: [number, number, number, number];
  /** The confirmed track it belongs to in its capture; absent before tracking. */
  track_id?: number;
}

/** [x, y] in image pixels. */
export type Point = [number, number];

/** A stream's lines and zones (and tracker settings, not used here). */
export interface TrackingConfig {
  lines?: { name: string; from: Point; to: Point }[];
  zones?: { name: string; points: Point[] }[];
}

/** One analysed frame of a capture: GET /captures/{id}/frames. */
export interface FrameSummary {
  frame_index: number;
  ts: string;
  /** Detections stored for it, whatever their score. */
  detections: number;
}

export interface AnalysedFrame {
  capture_id: string;
  stream_id: string;
  frame_index: number;
  ts: string;
  pts_ms: number;
  width: number;
  height: number;
  model: string;
  image_url: string;
  detections: Detection[];
}

export interface ObjectRank {
  object: string;
  frames: number;
  objects: number;
  avg_per_frame: number;
  max_per_frame: number;
  /** Objects that appeared, each counted once (tracks). */
  unique_objects?: number;
  rank: number;
}

/** GET /streams/{id}/crossings: crossings of a line one way in a bucket. */
export interface CrossingPoint {
  line: string;
  direction: "in" | "out";
  object: string;
  bucket: string;
  crossings: number;
}

export interface StreamRank extends ObjectRank {
  stream_id: string;
  stream_name: string;
}

export interface StreamOverall {
  stream_id: string;
  stream_name: string;
  frames: number;
  objects: number;
  avg_per_frame: number;
  distinct_objects: number;
  top_object: string | null;
  top_object_avg_per_frame: number | null;
  rank: number;
}

export interface ObjectOverall extends ObjectRank {
  streams: number;
}

export interface Series {
  object: string;
  rank: number;
  bucket_seconds?: number;
  buckets: string[];
  frames: number[];
  objects: number[];
  avg_per_frame: number[];
  max_per_frame: number[];
}

export interface Model {
  name: string;
  default: boolean;
  classes: string[];
}

export interface ScheduleAction {
  scheduled_at: string;
  started_at: string;
  workflow_id: string;
  capture_id: string;
}

export interface ScheduleSummary {
  id: string;
  stream_id: string;
  every?: string;
  cron?: string;
  offset?: string;
  paused: boolean;
  note?: string;
  next_action_time?: string;
  last_action?: ScheduleAction | null;
}

export interface CaptureStarted {
  capture_id: string;
  workflow_id: string;
  run_id: string;
  status_url: string;
}

export type EventType =
  | "capture.started"
  | "capture.progress"
  | "capture.finished"
  | "chunk.detected"
  | "rollup.finished";

/** One pipeline event: the data of a message of GET /api/v1/events. */
export interface PipelineEvent {
  id: number;
  at: string;
  /** One of EventType; others may come from a newer server. */
  type: string;
  stream_id: string;
  capture_id: string;
  data: Record<string, unknown> | null;
}
