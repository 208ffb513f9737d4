/**
 * `shiplog logs [NAME|GLOB ...] [options]`: stored logs through the query API, printed like
 * `docker logs` with `name@host | ` in front of every line (coloured on a terminal, plain when
 * piped), oldest first; stderr lines go to stderr in text mode, as `docker logs` does.
 * The API is SHIPLOG_URL, else the local `shiplog up` on SHIPLOG_HTTP_PORT (default 9880).
 * -n takes the last N lines (default 100; 0 with -f: new lines only) or `all`, read page by
 * page with the API's cursor. -f follows through the server's live tail until Ctrl-C.
 * Flags read as docker reads them: -ft, -n2, -n=2, --tail 5; --since/--until in docker-time.ts.
 */
import { dockerTime } from './docker-time.js';
import { readSse } from '../lib/sse.js';
import { Backoff, sleep } from '../lib/retry.js';

export const LOGS_USAGE = `usage: shiplog logs [NAME|GLOB ...] [options]

Print stored container logs, oldest first, like docker logs (every container when no name is given).

options:
  -f, --follow           keep printing new lines (Ctrl-C stops)
  -n, --tail N|all       the last N lines (default 100; -n 0 -f prints new lines only)
  -t, --timestamps       show each line's Docker timestamp
      --since T          lines from T on: Unix seconds, a duration before now (42m, 1h30m),
                         a date or time (2026-11-25, 2026-11-25T13:23:37; local unless it has Z or +01:00)
      --until T          lines before T (same forms)
      --grep TEXT        lines containing TEXT (case-sensitive)
      --regex RE         lines matching the RE2 regular expression RE
      --level L          lines at level L or worse (trace debug info warn error fatal)
      --stream S         stdout or stderr only
      --host H           lines from host H only
      --service S        lines of compose/swarm service S only
      --json             one JSON object per line, to stdout
      --raw              each line's exact bytes, without the name prefix (as docker logs
                         writes them; also lines that are not valid UTF-8)
  -h, --help             this text

NAME|GLOB: container names, exact or with * and ? (quote globs: 'web*').
The API: SHIPLOG_URL (default http://127.0.0.1:$SHIPLOG_HTTP_PORT, port 9880); SHIPLOG_API_TOKEN if it needs one.`;

export interface LogsArgs {
  containers: string[];
  since?: string;
  until?: string;
  grep?: string;
  regex?: string;
  level?: string;
  stream?: string;
  host?: string;
  service?: string;
  json: boolean;
  raw: boolean;
  timestamps: boolean;
  /** Last N lines, or every matching line. */
  tail: number | 'all';
  follow: boolean;
  help: boolean;
}

const NL = Buffer.from('\n');

/** Lines per API request (the API's own maximum). */
const PAGE = 10_000;

const LEVEL_NAMES = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const BOOLS: Record<string, 'follow' | 'timestamps' | 'json' | 'raw' | 'help'> = {
  '-f': 'follow',
  '--follow': 'follow',
  '-t': 'timestamps',
  '--timestamps': 'timestamps',
  '--json': 'json',
  '--raw': 'raw',
  '-h': 'help',
  '--help': 'help',
};
const VALUES: Record<string, 'tail' | 'since' | 'until' | 'grep' | 'regex' | 'level' | 'stream' | 'host' | 'service'> = {
  '-n': 'tail',
  '--tail': 'tail',
  '--since': 'since',
  '--until': 'until',
  '--grep': 'grep',
  '--regex': 'regex',
  '--level': 'level',
  '--stream': 'stream',
  '--host': 'host',
  '--service': 'service',
};

/** Docker's names: a letter or digit, then letters, digits, _ . -; a glob adds * and ?. */
const NAME = /^[A-Za-z0-9*?][A-Za-z0-9_.*?-]*$/;

/**
 * Splits docker-style arguments into [flag, value] pairs: `-ft` is -f -t, `-n2`, `-n=2` and
 * `-fn 2` give -n its value, `--tail=2` and `--tail 2` too. Positional arguments come back with
 * a flag of undefined; after `--` everything is positional.
 */
function tokens(argv: string[]): [string | undefined, string | undefined][] | string {
  const out: [string | undefined, string | undefined][] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      for (const rest of argv.slice(i + 1)) out.push([undefined, rest]);
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const flag = eq === -1 ? arg : arg.slice(0, eq);
      if (BOOLS[flag]) {
        if (eq !== -1) return `${flag} takes no value`;
        out.push([flag, undefined]);
      } else if (VALUES[flag]) {
        const v = eq === -1 ? argv[++i] : arg.slice(eq + 1);
        if (v === undefined) return `${flag} needs a value`;
        out.push([flag, v]);
      } else return `unknown option ${flag}`;
    } else if (arg.startsWith('-') && arg.length > 1) {
      for (let k = 1; k < arg.length; k++) {
        const flag = `-${arg[k]}`;
        if (BOOLS[flag]) out.push([flag, undefined]);
        else if (VALUES[flag]) {
          let v: string | undefined = arg.slice(k + 1).replace(/^=/, '');
          if (v === '') v = argv[++i];
          if (v === undefined) return `${flag} needs a value`;
          out.push([flag, v]);
          break;
        } else return `unknown option ${flag}${arg.length > 2 ? ` (in ${arg})` : ''}`;
      }
    } else out.push([undefined, arg]);
  }
  return out;
}

export function parseLogsArgs(argv: string[]): LogsArgs | string {
  const a: LogsArgs = { containers: [], json: false, raw: false, timestamps: false, tail: 100, follow: false, help: false };
  const toks = tokens(argv);
  if (typeof toks === 'string') return toks;
  for (const [flag, v] of toks) {
    if (flag === undefined) {
      if (!NAME.test(v as string)) return `"${(v as string).slice(0, 64)}" is not a container name or glob (letters, digits, _ . - and * ?)`;
      a.containers.push(v as string);
      continue;
    }
    const bool = BOOLS[flag];
    if (bool) {
      a[bool] = true;
      continue;
    }
    const key = VALUES[flag] as NonNullable<(typeof VALUES)[string]>;
    const value = v as string;
    switch (key) {
      case 'tail':
        if (value === 'all') a.tail = 'all';
        else if (!/^\d{1,9}$/.test(value)) return `${flag} needs a number of lines (0 or more) or "all"`;
        else a.tail = Number(value);
        break;
      case 'since':
      case 'until': {
        const t = dockerTime(flag, value);
        if (t instanceof Error) return t.message;
        a[key] = t;
        break;
      }
      case 'level':
        if (!LEVEL_NAMES.includes(value.toLowerCase())) return `${flag} takes one of ${LEVEL_NAMES.join(', ')}`;
        a.level = value.toLowerCase();
        break;
      case 'stream':
        if (value !== 'stdout' && value !== 'stderr') return `${flag} takes stdout or stderr`;
        a.stream = value;
        break;
      default:
        a[key] = value;
    }
  }
  if (a.grep !== undefined && a.regex !== undefined) return '--grep and --regex cannot be combined';
  if (a.json && a.raw) return '--json and --raw cannot be combined';
  if (a.tail === 0 && !a.follow) return '-n 0 prints nothing without -f';
  return a;
}

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
