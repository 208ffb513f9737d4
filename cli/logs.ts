/**
 * `shiplog logs [container|glob] [--since 1h] [--until t] [--grep TEXT] [--level error]
 * [--host h] [--service s] [--json] [-n N] [-f]`: stored logs through the query API at
 * SHIPLOG_URL (default http://127.0.0.1:9880), printed like `docker logs` with the container
 * name and host in front (coloured on a terminal, plain when piped). -f follows by asking for
 * lines newer than the last one printed, once a second, until Ctrl-C.
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
  const fetchLines = async (since: string | undefined, limit: number): Promise<Line[] | undefined> => {
    const p = new URLSearchParams();
    if (args.container) p.set('container', args.container);
    if (args.host) p.set('host', args.host);
    if (args.service) p.set('service', args.service);
    if (args.level) p.set('level', args.level);
    if (args.grep) p.set('q', args.grep);
    if (since) p.set('since', since);
    if (args.until) p.set('until', args.until);
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

  const first = await fetchLines(args.since, args.tail);
  if (!first) return 1;
  for (const l of first) print(l);
  if (!args.follow) return 0;

  let stop = false;
  process.once('SIGINT', () => {
    stop = true;
  });
  // Lines at the newest timestamp printed so far: asked for again, printed once.
  let lastTs = first[first.length - 1]?.timestamp ?? new Date().toISOString();
  let seenAtLast = new Set(first.filter((l) => l.timestamp === lastTs).map(key));
  while (!stop) {
    await new Promise((r) => setTimeout(r, 1000));
    if (stop) break;
    const lines = await fetchLines(lastTs, 10_000);
    if (!lines) continue;
    for (const l of lines) {
      if (l.timestamp === lastTs && seenAtLast.has(key(l))) continue;
      print(l);
      if (l.timestamp !== lastTs) {
        lastTs = l.timestamp;
        seenAtLast = new Set();
      }
      seenAtLast.add(key(l));
    }
  }
  return 0;
}

function key(l: Line): string {
  return `${l.container_id}\u0000${l.stream}\u0000${l.message}`;
}
