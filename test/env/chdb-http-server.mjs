#!/usr/bin/env node
/**
 * A ClickHouse-HTTP-compatible endpoint over the embedded engine (chDB), for tests of the
 * server backend: it answers the calls @clickhouse/client makes (ping, command, query with
 * {name:Type} parameters, INSERT ... FORMAT with a body and insert_deduplication_token), and
 * lets several collector processes share one store, as they would share a ClickHouse server.
 *
 *   node test/env/chdb-http-server.mjs <data-dir> <port>     prints "listening <url>"
 *
 * As a server set up for production would: with CHDB_HTTP_TLS_CERT and CHDB_HTTP_TLS_KEY (PEM
 * files) it speaks https only; with CHDB_HTTP_USER and CHDB_HTTP_PASSWORD every request but
 * /ping must carry that user (Basic auth, or X-ClickHouse-User/-Key as the client sends them
 * over TLS), else it gets ClickHouse's own refusal: code 516, AUTHENTICATION_FAILED.
 *
 * For tests of a slow store: `POST /_test/insert-delay?ms=N` makes every INSERT answer N ms
 * late (after it is stored, as a loaded server would); 0 ends that.
 *
 * Not a ClickHouse server: other settings in the URL are ignored.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { timingSafeEqual } from 'node:crypto';
import { Session } from 'chdb';

const [dir, portArg] = process.argv.slice(2);
if (!dir || !portArg) {
  console.error('usage: chdb-http-server.mjs <data-dir> <port>');
  process.exit(2);
}
const session = new Session(dir);
const CLIENT_PARAMS = new Set(['query_id', 'database', 'query', 'session_id', 'role', 'enable_http_compression', 'default_format', 'wait_end_of_query']);

let databaseTurn = Promise.resolve();
function inDatabase(db, run) {
  const q = (name) => `\`${name.replace(/`/g, '``')}\``;
  const turn = databaseTurn.then(async () => {
    await session.queryAsync(`USE ${q(db)}`);
    try {
      return await run();
    } finally {
      await session.queryAsync('USE default');
    }
  });
  databaseTurn = turn.catch(() => undefined);
  return turn;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

let insertDelayMs = 0;
const USER = process.env.CHDB_HTTP_USER;
const PASSWORD = process.env.CHDB_HTTP_PASSWORD ?? '';
const same = (a, b) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** The user and password a request carries, as ClickHouse reads them. */
function credentials(req, url) {
  const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
  if (basic) {
    const text = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = text.indexOf(':');
    return colon < 0 ? { user: text, password: '' } : { user: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  const user = req.headers['x-clickhouse-user'] ?? url.searchParams.get('user') ?? 'default';
  return { user: String(user), password: String(req.headers['x-clickhouse-key'] ?? url.searchParams.get('password') ?? '') };
}

function fail(res, status, err) {
  const msg = String(err?.message ?? err);
  const code = /Code: (\d+)/.exec(msg)?.[1] ?? '1000';
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=UTF-8', 'X-ClickHouse-Exception-Code': code });
  res.end(msg.startsWith('Code:') ? msg : `Code: ${code}. DB::Exception: ${msg}`);
}

const tls = process.env.CHDB_HTTP_TLS_CERT ? { cert: readFileSync(process.env.CHDB_HTTP_TLS_CERT), key: readFileSync(process.env.CHDB_HTTP_TLS_KEY ?? '') } : undefined;
const handler = async (req, res) => {
  try {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/ping') {
      res.end('Ok.\n');
      return;
    }
    if (url.pathname === '/_test/insert-delay') {
      insertDelayMs = Math.max(0, Number(url.searchParams.get('ms')) || 0);
      res.end(`insert delay ${insertDelayMs} ms\n`);
      return;
    }
    if (USER !== undefined) {
      const c = credentials(req, url);
      if (!same(c.user, USER) || !same(c.password, PASSWORD)) {
        req.resume();
        fail(res, 401, `Code: 516. DB::Exception: ${c.user}: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED) (version chdb)`);
        return;
      }
    }
    const body = await readBody(req);
    const queryParam = url.searchParams.get('query') ?? '';
    const params = {};
    const settings = {};
    for (const [k, v] of url.searchParams) {
      if (k.startsWith('param_')) params[k.slice(6)] = v;
      else if (!CLIENT_PARAMS.has(k)) settings[k] = v;
    }
    const insert = /^\s*INSERT\s+INTO\s+([\w.`]+)\s*(?:\(([^)]*)\))?\s*FORMAT\s+(\w+)\s*$/is.exec(queryParam);
    if (insert) {
      const format = insert[3] === 'TabSeparated' ? 'TSV' : insert[3];
      const columns = insert[2]?.split(',').map((c) => c.trim().replace(/`/g, ''));
      const r = await session.insert({
        table: insert[1].replace(/`/g, ''),
        values: body,
        format,
        ...(columns ? { columns } : {}),
        settings: settings.insert_deduplication_token ? { insert_deduplication_token: settings.insert_deduplication_token } : {},
      });
      if (insertDelayMs) await new Promise((r) => setTimeout(r, insertDelayMs));
      res.writeHead(200, { 'X-ClickHouse-Summary': JSON.stringify({ written_rows: String(r.rowsWritten) }) });
      res.end();
      return;
    }
    let sql = `${queryParam}${queryParam && body.length ? '\n' : ''}${body.toString('utf8')}`;
    let format = 'TabSeparated';
    const f = /\s+FORMAT\s+(\w+)\s*;?\s*$/i.exec(sql);
    if (f) {
      format = f[1];
      sql = sql.slice(0, f.index);
    }
    const run = () => (Object.keys(params).length ? session.queryBindAsync(sql, params, { format }) : session.queryAsync(sql, { format }));
    // `database` (the default database for unqualified names, as a server takes it): the
    // session's current database for this query only, one such query at a time.
    const database = url.searchParams.get('database');
    const r = database && database !== 'default' ? await inDatabase(database, run) : await run();
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=UTF-8', 'X-ClickHouse-Format': format, 'X-ClickHouse-Summary': JSON.stringify({ read_rows: String(r.rowsRead) }) });
    res.end(Buffer.from(r.bytes()));
  } catch (err) {
    fail(res, 500, err);
  }
};
const server = tls ? https.createServer(tls, handler) : http.createServer(handler);

server.listen(Number(portArg), '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`listening ${tls ? 'https' : 'http'}://127.0.0.1:${a.port}\n`);
});
const stop = () => {
  server.close();
  session.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
