/**
 * `shiplog logs [container|glob] [--since 1h] [--until t] [--grep TEXT] [--level error]
 * [--host h] [--service s] [--json] [-n N] [-f]`: stored logs through the query API at
 * SHIPLOG_URL (default http://127.0.0.1:9880), printed like `docker logs` with the container
 * name and host in front (coloured on a terminal, plain when piped). -f follows through the
 * server's live tail (Server-Sent Events) until Ctrl-C.
 */
export interface LogsArgs {
  container?: string;
  since?: string;
  until?: string;
  grep?: string;
  level?: string;
  host?: string;
  service?: string;
  json: boolean;
  tail: number;
  follow: boolean;
}

export function parseLogsArgs(argv: string[]): LogsArgs | string {
  const a: LogsArgs = { json: false, tail: 100, follow: false };
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
      case '-n':
      case '--tail': {
        const v = value();
        if (!v || !/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 10000) return `${flag} needs a number from 1 to 10000`;
        a.tail = Number(v);
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
    out.write(`${prefix} | ${l.message}\n`);
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
  const fetchLines = async (since: string | undefined, limit: number): Promise<Line[] | undefined> => {
    const p = filterParams();
    if (since) p.set('since', since);
    p.set('limit', String(limit));
    let res: Response;
    try {
      res = await fetch(`${base}/api/v1/logs?${p}`, { headers });
    } catch (err) {
      process.stderr.write(`shiplog logs: cannot reach ${base} (${(err as Error).message}); is \`shiplog up\` or a collector running? Set SHIPLOG_URL to point elsewhere.\n`);
      return undefined;
    }
    const body = (await res.json().catch(() => ({}))) as { data?: Line[]; message?: string };
    if (!res.ok) {
      process.stderr.write(`shiplog logs: ${body.message ?? `HTTP ${res.status}`}\n`);
      return undefined;
    }
    // The API answers newest first; print oldest first, like docker logs.
    return (body.data ?? []).reverse();
  };

  if (!args.follow) {
    const lines = await fetchLines(args.since, args.tail);
    if (!lines) return 1;
    for (const l of lines) print(l);
    return 0;
  }
  // Follow: the server's live tail (Server-Sent Events), starting with the last N lines.
  const p = filterParams();
  p.set('backlog', String(args.tail));
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
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buf.indexOf('\n\n')) !== -1) {
        const event = buf.slice(0, end);
        buf = buf.slice(end + 2);
        for (const line of event.split('\n')) if (line.startsWith('data: ') && !event.startsWith('event: error')) print(JSON.parse(line.slice(6)) as Line);
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
