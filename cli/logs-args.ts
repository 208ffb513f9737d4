/**
 * The arguments of `shiplog logs`, read the way `docker logs` users type them: -ft, -n2, -n=2,
 * --tail 5, several names or globs, --since/--until as docker reads them (docker-time.ts).
 * Anything else is refused with a message naming it.
 */
import { dockerTime } from './docker-time.js';

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
      --words TEXT       lines with every word of TEXT as a whole word, any order, any
                         ASCII case (read through the word index: fast over long ranges)
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
  words?: string;
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
const VALUES: Record<string, 'tail' | 'since' | 'until' | 'grep' | 'regex' | 'words' | 'level' | 'stream' | 'host' | 'service'> = {
  '-n': 'tail',
  '--tail': 'tail',
  '--since': 'since',
  '--until': 'until',
  '--grep': 'grep',
  '--regex': 'regex',
  '--words': 'words',
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
  if ([a.grep, a.regex, a.words].filter((v) => v !== undefined).length > 1) return 'only one of --grep, --regex and --words can be given';
  if (a.json && a.raw) return '--json and --raw cannot be combined';
  if (a.tail === 0 && !a.follow) return '-n 0 prints nothing without -f';
  return a;
}

