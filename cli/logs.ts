/**
 * `shiplog logs [container|glob] [--since 1h] [--until t] [--grep TEXT] [--level error]
 * [--host h] [--service s] [--json] [-t] [-n N|all] [-f]`: stored logs through the query API
 * at SHIPLOG_URL (default http://127.0.0.1:9880), printed like `docker logs` with the
 * container name and host in front (coloured on a terminal, plain when piped), oldest first.
 * -n takes the last N lines (default 100) or `all`, read page by page with the API's cursor.
 * -f follows through the server's live tail (Server-Sent Events) until Ctrl-C.
 */
import { readSse } from '../lib/sse.js';

export interface LogsArgs {
  container?: string;
  since?: string;
  until?: string;
  grep?: string;
  level?: string;
  host?: string;
  service?: string;
  json: boolean;
  timestamps: boolean;
  /** Last N lines, or every matching line. */
  tail: number | 'all';
  follow: boolean;
}

/** Lines per API request (the API's own maximum). */
const PAGE = 10_000;

export function parseLogsArgs(argv: string[]): LogsArgs | string {
  const a: LogsArgs = { json: false, timestamps: false, tail: 100, follow: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '-f':
      case '--follow':
        a.follow = true;
        break;
      case '--json':
        a.json = true;
        break;
      case '-t':
      case '--timestamps':
        a.timestamps = true;
        break;
      case '-n':
      case '--tail': {
        const v = value();
        if (v === 'all') a.tail = 'all';
        else if (!v || !/^\d{1,9}$/.test(v) || Number(v) < 1) return `${flag} needs a number of lines (1 or more) or "all"`;
        else a.tail = Number(v);
        break;
      }
      case '--since':
      case '--until':
      case '--grep':
      case '--level':
      case '--host':
      case '--service': {
        const v = value();
        if (v === undefined) return `${flag} needs a value`;
        a[flag.slice(2) as 'since' | 'until' | 'grep' | 'level' | 'host' | 'service'] = v;
        break;
      }
      default:
        if (flag.startsWith('-')) return `unknown option ${flag}`;
        if (a.container) return `one container name or glob at most (got "${a.container}" and "${flag}")`;
        a.container = flag;
    }
  }
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
}

const COLOURS = [32, 33, 34, 35, 36, 92, 93, 94, 95, 96];

function colourOf(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return COLOURS[h % COLOURS.length] as number;
}

export async function runLogs(argv: string[], env: NodeJS.ProcessEnv, out: NodeJS.WriteStream = process.stdout): Promise<number> {
  const args = parseLogsArgs(argv);
  if (typeof args === 'string') {
    process.stderr.write(`shiplog logs: ${args}\n`);
    return 2;
  }
  const base = (env.SHIPLOG_URL ?? 'http://127.0.0.1:9880').replace(/\/$/, '');
  const headers: Record<string, string> = env.SHIPLOG_API_TOKEN ? { authorization: `Bearer ${env.SHIPLOG_API_TOKEN}` } : {};
  const tty = out.isTTY === true && !env.NO_COLOR;
  const print = (l: Line) => {
    if (args.json) {
      out.write(`${JSON.stringify(l)}\n`);
      return;
    }
    const who = `${l.container_name}@${l.host}`;
    const prefix = tty ? `\x1b[${colourOf(who)}m${who}\x1b[0m` : who;
    out.write(args.timestamps ? `${prefix} | ${l.timestamp} ${l.message}\n` : `${prefix} | ${l.message}\n`);
  };
  const filterParams = () => {
    const p = new URLSearchParams();
    if (args.container) p.set('container', args.container);
    if (args.host) p.set('host', args.host);
    if (args.service) p.set('service', args.service);
    if (args.level) p.set('level', args.level);
    if (args.grep) p.set('q', args.grep);
    if (args.since) p.set('since', args.since);
    if (args.until) p.set('until', args.until);
    return p;
  };
  /** One page; undefined (after saying why on stderr) when the API cannot answer. */
  const fetchPage = async (order: 'newest' | 'oldest', limit: number, cursor: string | undefined): Promise<{ data: Line[]; next_cursor: string | null } | undefined> => {
    const p = filterParams();
    p.set('limit', String(limit));
    p.set('order', order);
    if (cursor) p.set('cursor', cursor);
    let res: Response;
    try {
      res = await fetch(`${base}/api/v1/logs?${p}`, { headers });
    } catch (err) {
      process.stderr.write(`shiplog logs: cannot reach ${base} (${(err as Error).message}); is \`shiplog up\` or a collector running? Set SHIPLOG_URL to point elsewhere.\n`);
      return undefined;
    }
    const body = (await res.json().catch(() => ({}))) as { data?: Line[]; next_cursor?: string | null; message?: string };
    if (!res.ok) {
      process.stderr.write(`shiplog logs: ${body.message ?? `HTTP ${res.status}`}\n`);
      return undefined;
    }
    return { data: body.data ?? [], next_cursor: body.next_cursor ?? null };
  };

  if (!args.follow) {
    let cursor: string | undefined;
    if (args.tail === 'all') {
      // Oldest first, printed as the pages come.
      do {
        const page = await fetchPage('oldest', PAGE, cursor);
        if (!page) return 1;
        for (const l of page.data) print(l);
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      return 0;
    }
    // The last N: newest first until N, then printed oldest first, like docker logs.
    const lines: Line[] = [];
    do {
      const page = await fetchPage('newest', Math.min(PAGE, args.tail - lines.length), cursor);
      if (!page) return 1;
      lines.push(...page.data);
      cursor = page.next_cursor ?? undefined;
    } while (cursor && lines.length < args.tail);
    for (let i = lines.length - 1; i >= 0; i--) print(lines[i] as Line);
    return 0;
  }
  // Follow: the server's live tail (Server-Sent Events), starting with the last N lines.
  const p = filterParams();
  p.set('backlog', String(args.tail === 'all' ? PAGE : Math.min(args.tail, PAGE)));
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  let res: Response;
  try {
    res = await fetch(`${base}/api/v1/logs/tail?${p}`, { headers, signal: ac.signal });
  } catch (err) {
    if (ac.signal.aborted) return 0;
    process.stderr.write(`shiplog logs: cannot reach ${base} (${(err as Error).message}); is \`shiplog up\` or a collector running? Set SHIPLOG_URL to point elsewhere.\n`);
    return 1;
  }
  if (!res.ok || !res.body) {
    const body = (await res.json().catch(() => ({}))) as { message?: string };
    process.stderr.write(`shiplog logs: ${body.message ?? `HTTP ${res.status}`}\n`);
    return 1;
  }
  try {
    for await (const ev of readSse(res.body as unknown as AsyncIterable<Uint8Array>)) {
      if (ev.event === 'message') print(JSON.parse(ev.data) as Line);
      else if (ev.event === 'error') process.stderr.write(`shiplog logs: the server could not read the store (retrying): ${(JSON.parse(ev.data) as { message?: string }).message ?? ev.data}\n`);
      else if (ev.event === 'end') {
        const end = JSON.parse(ev.data) as { reason?: string; message?: string };
        process.stderr.write(`shiplog logs: the server ended the live tail: ${end.message ?? end.reason}\n`);
        return end.reason === 'shutdown' ? 0 : 1;
      }
    }
  } catch (err) {
    if (!ac.signal.aborted) {
      process.stderr.write(`shiplog logs: the live tail broke: ${(err as Error).message}\n`);
      return 1;
    }
  }
  return 0;
}
