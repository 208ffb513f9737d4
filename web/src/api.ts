/**
 * The page's way to the API: the bearer token (asked for when the API answers 401, kept for
 * this browser session only), JSON requests, and the live tail read as Server-Sent Events over
 * fetch (EventSource cannot send a token), resumed after a break with Last-Event-ID.
 */
// The one SSE parser, shared with the CLI (it uses no Node API).
import { SseParser } from '../../lib/sse.js';

export interface Line {
  timestamp: string;
  host: string;
  container_id: string;
  container_name: string;
  image: string;
  service: string;
  stream: string;
  level: string;
  message: string;
  message_base64?: string;
  attributes: Record<string, string>;
  cursor: string;
}

export interface Page {
  data: Line[];
  next_cursor: string | null;
}

export interface HistogramBucket {
  time: string;
  total: number;
  levels: Record<string, number>;
}

export interface Histogram {
  interval_seconds: number;
  from: string;
  to: string;
  buckets: HistogramBucket[];
}

export interface Container {
  host: string;
  id: string;
  name: string;
  image: string;
  service: string;
  state: string;
  exit_code?: number;
  health?: string;
  restarts: number;
  last_seen: string;
  last_log?: string;
  log_lines: number;
  log_bytes: number;
}

export interface StatsBucket {
  time: string;
  cpu_cores?: number;
  memory_bytes?: number;
  memory_max_bytes?: number;
  memory_limit_bytes?: number;
}

export interface ContainerEvent {
  time: string;
  host: string;
  name: string;
  action: string;
  exit_code?: number;
  health?: string;
}

const TOKEN_KEY = 'shiplog.token';

export class Unauthorized extends Error {}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly parameter?: string,
  ) {
    super(message);
  }
}

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(t: string | null): void {
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const t = token();
  return t ? { ...extra, authorization: `Bearer ${t}` } : extra;
}

/** Query parameters without the empty ones. */
export function query(p: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(p)) if (v !== undefined && v !== null && v !== '' && v !== false) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, { headers: headers(), signal });
  if (res.status === 401) throw new Unauthorized('a valid token is needed');
  const body = (await res.json().catch(() => ({}))) as { message?: string; parameter?: string };
  if (!res.ok) throw new ApiError(res.status, body.message ?? `${res.status} ${res.statusText}`, body.parameter);
  return body as T;
}

/** Checks a token against the API without keeping it. */
export async function tokenWorks(t: string): Promise<boolean> {
  const res = await fetch('/api/v1/containers?since=1m', { headers: { authorization: `Bearer ${t}` } });
  return res.status !== 401;
}

export interface TailHandlers {
  onLines(lines: Line[]): void;
  onState(state: 'connecting' | 'live' | 'retrying', detail?: string): void;
  onUnauthorized(): void;
}

/**
 * Follows /api/v1/logs/tail until the signal aborts. Lines arriving together are handed on
 * together (one render per network chunk, not per line); after a break it reconnects with the
 * id of the last line received, so the server resumes after it: no gap, no repeat.
 */
export async function followTail(params: Record<string, string | number | undefined>, h: TailHandlers, signal: AbortSignal): Promise<void> {
  let lastId: string | undefined;
  let wait = 500;
  while (!signal.aborted) {
    h.onState('connecting');
    try {
      const res = await fetch(`/api/v1/logs/tail${query(params)}`, { headers: headers(lastId ? { 'last-event-id': lastId } : {}), signal });
      if (res.status === 401) {
        h.onUnauthorized();
        return;
      }
      if (!res.ok || !res.body) throw new Error(`${res.status} ${res.statusText}`);
      h.onState('live');
      wait = 500;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      const parser = new SseParser();
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        // The lines of one network chunk are handed on together: one render per chunk.
        const batch: Line[] = [];
        for (const ev of parser.push(value)) {
          if (ev.event !== 'message') continue;
          batch.push(JSON.parse(ev.data) as Line);
          if (ev.id) lastId = ev.id;
        }
        if (batch.length) h.onLines(batch);
      }
      if (signal.aborted) return;
      h.onState('retrying', 'the server closed the stream');
    } catch (err) {
      if (signal.aborted) return;
      h.onState('retrying', (err as Error).message);
    }
    await new Promise((r) => setTimeout(r, wait / 2 + Math.random() * (wait / 2)));
    wait = Math.min(wait * 2, 5000);
  }
}
