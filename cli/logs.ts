/**
 * `shiplog logs [NAME|GLOB ...] [options]`: stored logs through the query API, printed like
 * `docker logs` with `name@host | ` in front of every line (coloured on a terminal, plain when
 * piped), oldest first; stderr lines go to stderr in text mode, as `docker logs` does.
 * The API is SHIPLOG_URL, else the local `shiplog up` on SHIPLOG_HTTP_PORT (default 9880).
 * -n takes the last N lines (default 100; 0 with -f: new lines only) or `all`, read page by
 * page with the API's cursor. -f follows through the server's live tail until Ctrl-C.
 * Flags read as docker reads them: -ft, -n2, -n=2, --tail 5; --since/--until in docker-time.ts.
 */
import { LOGS_USAGE, parseLogsArgs } from './logs-args.js';
import { readSse } from '../lib/sse.js';
import { Backoff, sleep } from '../lib/retry.js';

const NL = Buffer.from('\n');

/** Lines per API request (the API's own maximum). */
const PAGE = 10_000;

interface Line {
  timestamp: string;
  host: string;
  container_id: string;
  container_name: string;
  stream: string;
  level: string;
  message: string;
  message_base64?: string;
}

const COLOURS = [32, 33, 34, 35, 36, 92, 93, 94, 95, 96];

function colourOf(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return COLOURS[h % COLOURS.length] as number;
}

/** The API's base URL: SHIPLOG_URL, else the local `shiplog up` / collector on its configured port. */
export function apiBase(env: NodeJS.ProcessEnv): string {
  if (env.SHIPLOG_URL) return env.SHIPLOG_URL.replace(/\/$/, '');
  return `http://127.0.0.1:${env.SHIPLOG_HTTP_PORT || '9880'}`;
}

export async function runLogs(argv: string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout, errOut: NodeJS.WritableStream = process.stderr): Promise<number> {
  const args = parseLogsArgs(argv);
  if (typeof args === 'string') {
    errOut.write(`shiplog logs: ${args}\nRun 'shiplog logs --help' for the options.\n`);
    return 2;
  }
  if (args.help) {
    out.write(`${LOGS_USAGE}\n`);
    return 0;
  }
  const base = apiBase(env);
  const headers: Record<string, string> = env.SHIPLOG_API_TOKEN ? { authorization: `Bearer ${env.SHIPLOG_API_TOKEN}` } : {};
  const tty = out.isTTY === true && !env.NO_COLOR;
  const ac = new AbortController();
  // `shiplog logs | head`: the reader went away; stop quietly, as docker logs does.
  let closed = false;
  const onOutError = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    closed = true;
    ac.abort();
  };
  // Kept after we return: a write refused with EPIPE is reported after the last await.
  out.on('error', onOutError);
  let printed = 0;
  const print = (l: Line) => {
    if (closed) return;
    printed++;
    if (args.json) {
      out.write(`${JSON.stringify(l)}\n`);
      return;
    }
    if (args.raw) {
      const bytes = l.message_base64 !== undefined ? Buffer.from(l.message_base64, 'base64') : Buffer.from(l.message);
      const dest = l.stream === 'stderr' ? errOut : out;
      dest.write(args.timestamps ? Buffer.concat([Buffer.from(`${l.timestamp} `), bytes, NL]) : Buffer.concat([bytes, NL]));
      return;
    }
    const who = `${l.container_name}@${l.host}`;
    const prefix = `${tty ? `\x1b[${colourOf(who)}m${who}\x1b[0m` : who} | ${args.timestamps ? `${l.timestamp} ` : ''}`;
    // Every line of a merged entry (a stack trace) carries the prefix, so grep keeps them.
    const text = `${prefix}${l.message.split('\n').join(`\n${prefix}`)}\n`;
    (l.stream === 'stderr' ? errOut : out).write(text);
  };
  const filterParams = () => {
    const p = new URLSearchParams();
    if (args.containers.length) p.set('container', args.containers.join(','));
    if (args.host) p.set('host', args.host);
    if (args.service) p.set('service', args.service);
    if (args.stream) p.set('stream', args.stream);
    if (args.level) p.set('min_level', args.level);
    if (args.grep !== undefined) p.set('q', args.grep);
    if (args.regex !== undefined) {
      p.set('q', args.regex);
      p.set('regex', 'true');
    }
    if (args.words !== undefined) {
      p.set('q', args.words);
      p.set('words', 'true');
    }
    if (args.since) p.set('since', args.since);
    if (args.until) p.set('until', args.until);
    return p;
  };
  const unreachable = (err: unknown) =>
    errOut.write(`shiplog logs: cannot reach ${base} (${(err as Error).message}); is \`shiplog up\` or a collector running? Set SHIPLOG_URL (or SHIPLOG_HTTP_PORT) to point elsewhere.\n`);
  /** A JSON answer of the API; undefined (after saying why on stderr) when it cannot answer. */
  const getJson = async <T>(path: string, p: URLSearchParams): Promise<T | undefined> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}?${p}`, { headers, signal: ac.signal });
    } catch (err) {
      if (!closed) unreachable(err);
      return undefined;
    }
    const body = (await res.json().catch(() => ({}))) as T & { message?: string };
    if (!res.ok) {
      errOut.write(`shiplog logs: ${body.message ?? `HTTP ${res.status}`}\n`);
      return undefined;
    }
    return body;
  };
  const fetchPage = async (order: 'newest' | 'oldest', limit: number, cursor: string | undefined) => {
    const p = filterParams();
    p.set('limit', String(limit));
    p.set('order', order);
    if (cursor) p.set('cursor', cursor);
    const body = await getJson<{ data?: Line[]; next_cursor?: string | null }>('/api/v1/logs', p);
    return body && { data: body.data ?? [], next_cursor: body.next_cursor ?? null };
  };
  /** Nothing printed for names given: say which name matches no container the store knows (docker: exit 1). */
  const unknownNames = async (): Promise<number> => {
    for (const name of args.containers) {
      const p = new URLSearchParams({ container: name, since: '3650d' });
      if (args.host) p.set('host', args.host);
      const body = await getJson<{ data?: unknown[] }>('/api/v1/containers', p);
      if (!body) return 1;
      if (!body.data?.length) {
        errOut.write(`shiplog logs: no such container: ${name}\n`);
        return 1;
      }
    }
    return 0;
  };

  if (!args.follow) {
    let cursor: string | undefined;
    if (args.tail === 'all') {
      // Oldest first, printed as the pages come.
      do {
        const page = await fetchPage('oldest', PAGE, cursor);
        if (!page) return closed ? 0 : 1;
        for (const l of page.data) print(l);
        cursor = page.next_cursor ?? undefined;
      } while (cursor && !closed);
    } else {
      // The last N: newest first until N, then printed oldest first, like docker logs.
      const lines: Line[] = [];
      do {
        const page = await fetchPage('newest', Math.min(PAGE, args.tail - lines.length), cursor);
        if (!page) return closed ? 0 : 1;
        lines.push(...page.data);
        cursor = page.next_cursor ?? undefined;
      } while (cursor && lines.length < args.tail);
      for (let i = lines.length - 1; i >= 0 && !closed; i--) print(lines[i] as Line);
    }
    if (printed === 0 && args.containers.length && !closed) return await unknownNames();
    return 0;
  }
  // Follow: the server's live tail (Server-Sent Events), starting with the last N lines.
  // When the stream breaks (the server restarted), it reconnects with the id of the last
  // line it printed (Last-Event-ID) and the server resumes after it: no gap, no repeat.
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  try {
    let lastId: string | undefined;
    let connected = false;
    const backoff = new Backoff(250, 5_000);
    let told = false;
    const retry = async (why: string) => {
      if (!told) errOut.write(`shiplog logs: ${why}; reconnecting to ${base} (Ctrl-C stops)\n`);
      told = true;
      // Ctrl-C ends the wait at once.
      await sleep(backoff.next(), ac.signal);
    };
    while (!ac.signal.aborted && !closed) {
      const p = filterParams();
      p.set('backlog', String(args.tail === 'all' ? PAGE : Math.min(args.tail, PAGE)));
      let res: Response;
      try {
        res = await fetch(`${base}/api/v1/logs/tail?${p}`, { headers: lastId ? { ...headers, 'last-event-id': lastId } : headers, signal: ac.signal });
      } catch (err) {
        if (ac.signal.aborted) return 0;
        if (!connected) {
          unreachable(err);
          return 1;
        }
        await retry('the server went away');
        continue;
      }
      if (!res.ok || !res.body) {
        const body = (await res.json().catch(() => ({}))) as { message?: string };
        // Busy or restarting: wait; anything else will not get better by asking again.
        if (connected && (res.status === 429 || res.status >= 500)) {
          await retry(body.message ?? `HTTP ${res.status}`);
          continue;
        }
        errOut.write(`shiplog logs: ${body.message ?? `HTTP ${res.status}`}\n`);
        return 1;
      }
      connected = true;
      if (told) errOut.write('shiplog logs: reconnected\n');
      told = false;
      backoff.reset();
      let why = 'the live tail broke';
      try {
        for await (const ev of readSse(res.body as unknown as AsyncIterable<Uint8Array>)) {
          if (ev.event === 'message') {
            print(JSON.parse(ev.data) as Line);
            if (ev.id) lastId = ev.id;
          } else if (ev.event === 'error') errOut.write(`shiplog logs: the server could not read the store (retrying): ${(JSON.parse(ev.data) as { message?: string }).message ?? ev.data}\n`);
          else if (ev.event === 'end') {
            const end = JSON.parse(ev.data) as { reason?: string; message?: string };
            why = `the server ended the live tail: ${end.message ?? end.reason}`;
            // A server that is stopping may be restarting; a slow reader may simply reconnect.
            break;
          }
          if (closed) return 0;
        }
      } catch (err) {
        if (ac.signal.aborted || closed) return 0;
        why = `the live tail broke: ${(err as Error).message}`;
      }
      if (ac.signal.aborted || closed) return 0;
      await retry(why);
    }
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
