/**
 * A deterministic, realistic mix of container log lines (nginx access logs, JSON app logs,
 * Java stack traces, plain info/warn lines) as agent records, for storage and query figures.
 */
import type { LogRecord } from '../../agent/ship/record.js';
import { RowEncoder } from '../../collector/ingest/encode-rows.js';
import { LOG_INSERT_COLUMNS } from '../../collector/store/schema.js';
import type { LogStore } from '../../collector/store/store.js';

/** Small fast PRNG (mulberry32) so every run makes the same data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PATHS = ['/api/v1/items', '/api/v1/orders', '/login', '/static/app.js', '/healthz', '/api/v1/users/42', '/search', '/cart'];
const AGENTS = ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0', 'curl/8.5.0', 'Go-http-client/1.1', 'kube-probe/1.31'];
const WORDS = ['order', 'payment', 'user', 'session', 'cache', 'queue', 'retry', 'timeout', 'connection', 'request', 'invoice', 'token'];

export interface GenOptions {
  containers: number;
  /** Lines are spread evenly over [now - spanMs, now]. */
  spanMs: number;
  seed?: number;
}

export class RealisticLogs {
  private readonly r: () => number;
  private produced = 0;

  constructor(private readonly o: GenOptions) {
    this.r = rng(o.seed ?? 42);
  }

  private pick<T>(a: readonly T[]): T {
    return a[Math.floor(this.r() * a.length)] as T;
  }

  private line(kind: number, i: number): string {
    const r = this.r;
    switch (kind) {
      case 0: {
        const ip = `10.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}`;
        const status = r() < 0.9 ? 200 : this.pick([301, 404, 500, 503]);
        return `${ip} - - [23/Nov/2026:16:00:${String(i % 60).padStart(2, '0')} +0000] "GET ${this.pick(PATHS)}?page=${Math.floor(r() * 100)} HTTP/1.1" ${status} ${Math.floor(r() * 50000)} "-" "${this.pick(AGENTS)}" rt=${(r() * 0.5).toFixed(3)}`;
      }
      case 1:
        return JSON.stringify({
          time: new Date(1795449600000 + i).toISOString(),
          level: r() < 0.85 ? 'info' : r() < 0.7 ? 'warn' : 'error',
          msg: `${this.pick(WORDS)} ${this.pick(WORDS)} processed`,
          request_id: Math.floor(r() * 1e12).toString(36),
          duration_ms: Math.floor(r() * 900),
          user_id: Math.floor(r() * 10000),
        });
      case 2:
        return [
          `2026-11-23 16:00:00.${String(i % 1000).padStart(3, '0')} ERROR [main] c.e.OrderService - failed to process order ${Math.floor(r() * 1e6)}`,
          'java.lang.IllegalStateException: connection pool exhausted',
          '\tat com.example.db.Pool.acquire(Pool.java:118)',
          '\tat com.example.OrderService.process(OrderService.java:57)',
          '\tat com.example.Api.handle(Api.java:31)',
          '\t... 12 more',
        ].join('\n');
      default:
        return `2026-11-23T16:00:00Z ${r() < 0.8 ? 'INFO' : 'WARN'} worker-${Math.floor(r() * 8)} ${this.pick(WORDS)} ${this.pick(WORDS)} took ${Math.floor(r() * 2000)}ms`;
    }
  }

  /** One record per container with `perRecord` lines each, all containers advancing in time together. */
  batch(perRecord: number, now: number, total: number, needle?: (i: number) => string | undefined): LogRecord[] {
    const out: LogRecord[] = [];
    const base = this.produced;
    const n = this.o.containers;
    for (let c = 0; c < n; c++) {
      const kind = c % 4;
      const lines: LogRecord['lines'] = [];
      for (let k = 0; k < perRecord; k++) {
        const i = base + k * n + c;
        const t = now - this.o.spanMs + Math.floor((i / total) * this.o.spanMs);
        const ts = `${new Date(t).toISOString().slice(0, 19)}.${String(i % 1e9).padStart(9, '0')}Z`;
        lines.push({ ts, stream: kind === 2 ? 'stderr' : 'stdout', msg: needle?.(i) ?? this.line(kind, i) });
      }
      const id = (c + 1).toString(16).padStart(64, '0');
      const svc = ['web', 'api', 'orders', 'worker'][kind] as string;
      out.push({
        v: 1,
        type: 'logs',
        host: `host-${c % 3}`,
        container: { id, name: `${svc}-${c}`, image: `example/${svc}:1.4.2`, labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': svc }, compose_project: 'shop', compose_service: svc },
        lines,
        cursor: { stdout: { ts: lines[lines.length - 1]?.ts ?? '', n: 1 } },
      });
    }
    this.produced += perRecord * n;
    return out;
  }
}

/**
 * Stores `rows` realistic lines in a store for the query benchmarks: 40 containers over the last
 * two days, one line at 80 % of them replaced by `needle`; ten records of 250 lines a container
 * per insert. Returns the seconds it took.
 */
export async function storeRealistic(store: LogStore, rows: number, needle: string): Promise<number> {
  const gen = new RealisticLogs({ containers: 40, spanMs: 2 * 86_400_000 });
  const now = Date.now();
  const needleAt = Math.floor(rows * 0.8);
  const t0 = Date.now();
  let offset = 0;
  for (let n = 0, batch = 0; n < rows; batch++) {
    const enc = new RowEncoder();
    for (let k = 0; k < 10; k++) {
      for (const rec of gen.batch(250, now, rows, (i) => (i === needleAt ? needle : undefined))) enc.add(rec, { topic: 'shiplog.logs', partition: 0, offset: String(offset++) });
    }
    n += enc.rows;
    await store.insertTsv('otel_logs', LOG_INSERT_COLUMNS, enc.take(), `b-${batch}`);
  }
  return (Date.now() - t0) / 1000;
}
