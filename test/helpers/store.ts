/**
 * Reading what the collector stored: through the ClickHouse-HTTP endpoint over chDB
 * (test/env/chdb-http-server.mjs, which also serves the server backend in tests), or by
 * opening an embedded store directly once its collector has stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { resolve } from 'node:path';

const SERVER = resolve(import.meta.dirname, '../env/chdb-http-server.mjs');

export interface ChdbEndpoint {
  url: string;
  /** `database`: the default database for unqualified table names (as a Grafana datasource's). */
  query<T = Record<string, unknown>>(sql: string, database?: string): Promise<T[]>;
  /** Stops the endpoint (data kept). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  restart(): Promise<void>;
  /** Every insert answers this many ms late from now on (0: at once): a slow store. */
  setInsertDelay(ms: number): Promise<void>;
}

/** A production-like endpoint: https with this certificate, and/or this user required. */
export interface EndpointSecurity {
  tls?: { cert: string; key: string; ca: string };
  user?: string;
  password?: string;
}

function launch(dir: string, port: number, sec: EndpointSecurity): Promise<{ proc: ChildProcess; url: string }> {
  const env = {
    ...process.env,
    ...(sec.tls ? { CHDB_HTTP_TLS_CERT: sec.tls.cert, CHDB_HTTP_TLS_KEY: sec.tls.key } : {}),
    ...(sec.user !== undefined ? { CHDB_HTTP_USER: sec.user, CHDB_HTTP_PASSWORD: sec.password ?? '' } : {}),
  };
  const proc = spawn(process.execPath, [SERVER, dir, String(port)], { stdio: ['ignore', 'pipe', 'inherit'], env });
  return new Promise((res, rej) => {
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\S+)/.exec(out);
      if (m) res({ proc, url: m[1] as string });
    });
    proc.on('exit', (code) => rej(new Error(`chdb-http-server exited with ${code}`)));
  });
}

/** POST over https trusting `ca` (fetch takes no CA of its own). */
function postTls(url: string, ca: string, headers: Record<string, string>): Promise<{ ok: boolean; text: string }> {
  return new Promise((res, rej) => {
    const req = httpsRequest(url, { method: 'POST', ca: readFileSync(ca), headers }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => res({ ok: (r.statusCode ?? 500) < 300, text: Buffer.concat(chunks).toString() }));
      r.on('error', rej);
    });
    req.on('error', rej);
    req.end();
  });
}

export async function startChdbEndpoint(dir: string, sec: EndpointSecurity = {}): Promise<ChdbEndpoint> {
  let { proc, url } = await launch(dir, 0, sec);
  const port = Number(new URL(url).port);
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const done = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await done;
  };
  return {
    url,
    async query<T>(sql: string, database?: string): Promise<T[]> {
      const target = `${url}/?query=${encodeURIComponent(`${sql} FORMAT JSONEachRow`)}${database ? `&database=${encodeURIComponent(database)}` : ''}`;
      const headers: Record<string, string> = sec.user !== undefined ? { Authorization: `Basic ${Buffer.from(`${sec.user}:${sec.password ?? ''}`).toString('base64')}` } : {};
      const res = sec.tls ? await postTls(target, sec.tls.ca, headers) : await fetch(target, { method: 'POST', headers }).then(async (r) => ({ ok: r.ok, text: await r.text() }));
      const text = res.text;
      if (!res.ok) throw new Error(text);
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
    },
    stop,
    async setInsertDelay(ms: number) {
      const r = await fetch(`${url}/_test/insert-delay?ms=${ms}`, { method: 'POST' });
      if (!r.ok) throw new Error(await r.text());
    },
    async restart() {
      await stop();
      ({ proc, url } = await launch(dir, port, sec));
    },
  };
}

/** Opens an embedded store (its collector must have stopped) and runs one query. */
export async function queryEmbedded<T = Record<string, unknown>>(path: string, sql: string): Promise<T[]> {
  const { Session } = await import('chdb');
  const s = new Session(path);
  try {
    const r = await s.queryAsync(sql, { format: 'JSONEachRow' });
    return r.text().split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
  } finally {
    s.close();
  }
}

/** An embedded store in `dir`, with the schema migrated: what the in-process API and encoder tests run on. */
export async function openMigratedStore(dir: string): Promise<import('../../collector/store/chdb-store.js').ChdbStore> {
  const [{ ChdbStore }, { migrate }, { createLogger }] = await Promise.all([import('../../collector/store/chdb-store.js'), import('../../collector/store/migrate.js'), import('../../lib/logger.js')]);
  const store = new ChdbStore(`${dir}/chdb`);
  await migrate(store, { database: 'shiplog', retentionDays: 30 }, createLogger('test', 'silent'));
  return store;
}
