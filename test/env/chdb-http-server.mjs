#!/usr/bin/env node
/**
 * A ClickHouse-HTTP-compatible endpoint over the embedded engine (chDB), for tests of the
 * server backend: it answers the calls @clickhouse/client makes (ping, command, query with
 * {name:Type} parameters, INSERT ... FORMAT with a body and insert_deduplication_token), and
 * lets several collector processes share one store, as they would share a ClickHouse server.
 *
 *   node test/env/chdb-http-server.mjs <data-dir> <port>     prints "listening <url>"
 *
 * Not a ClickHouse server: other settings in the URL are ignored.
 */
import http from 'node:http';
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

function fail(res, status, err) {
  const msg = String(err?.message ?? err);
  const code = /Code: (\d+)/.exec(msg)?.[1] ?? '1000';
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=UTF-8', 'X-ClickHouse-Exception-Code': code });
  res.end(msg.startsWith('Code:') ? msg : `Code: ${code}. DB::Exception: ${msg}`);
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/ping') {
      res.end('Ok.\n');
      return;
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
});

server.listen(Number(portArg), '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`listening http://127.0.0.1:${a.port}\n`);
});
const stop = () => {
  server.close();
  session.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
