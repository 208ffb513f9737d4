/** `shiplog logs` reads its arguments the way `docker logs` users type them. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dockerTime, goDurationMs } from '../../../cli/docker-time.js';
import { parseLogsArgs, type LogsArgs } from '../../../cli/logs-args.js';
import { apiBase } from '../../../cli/logs.js';

const ok = (argv: string[]): LogsArgs => {
  const a = parseLogsArgs(argv);
  if (typeof a === 'string') throw new Error(`refused ${argv.join(' ')}: ${a}`);
  return a;
};

describe('shiplog logs arguments', () => {
  it.each([
    [['-ft'], { follow: true, timestamps: true }],
    [['-tf'], { follow: true, timestamps: true }],
    [['-n2'], { tail: 2 }],
    [['-n=2'], { tail: 2 }],
    [['-n', '2'], { tail: 2 }],
    [['--tail=2'], { tail: 2 }],
    [['--tail', 'all'], { tail: 'all' }],
    [['-fn', '5'], { follow: true, tail: 5 }],
    [['-ftn5'], { follow: true, timestamps: true, tail: 5 }],
    [['-f', '-n', '0'], { follow: true, tail: 0 }],
    [['web', 'db-*', 'api?'], { containers: ['web', 'db-*', 'api?'] }],
    [['--stream', 'stderr'], { stream: 'stderr' }],
    [['--regex', 'time(out|d)'], { regex: 'time(out|d)' }],
    [['--words', 'Connection REFUSED'], { words: 'Connection REFUSED' }],
    [['--level', 'WARN'], { level: 'warn' }],
    [['--', '-odd'], undefined],
    [['--raw', '-t'], { raw: true, timestamps: true }],
    [['-h'], { help: true }],
    [['--help'], { help: true }],
  ] as [string[], Partial<LogsArgs> | undefined][])('%j', (argv, want) => {
    if (want === undefined) expect(typeof parseLogsArgs(argv)).toBe('string');
    else expect(ok(argv)).toMatchObject(want);
  });

  it.each([
    [['-x'], 'unknown option -x'],
    [['-fx'], 'unknown option -x (in -fx)'],
    [['--tial', '5'], 'unknown option --tial'],
    [['-n'], '-n needs a value'],
    [['-n', '-1'], 'number of lines'],
    [['-n', '0'], '-n 0 prints nothing without -f'],
    [['--stream', 'stdin'], 'stdout or stderr'],
    [['--level', 'loud'], 'one of trace'],
    [['--grep', 'a', '--regex', 'b'], 'only one of --grep, --regex and --words'],
    [['--words', 'a', '--grep', 'b'], 'only one of --grep, --regex and --words'],
    [['--since', 'yesterday'], 'Unix seconds'],
    [['--since', '2026-02-30'], 'Unix seconds'],
    [['web;rm'], 'not a container name'],
    [['--json=1'], 'takes no value'],
    [['--json', '--raw'], 'cannot be combined'],
  ])('%j is refused with a message', (argv, msg) => {
    const a = parseLogsArgs(argv);
    expect(typeof a).toBe('string');
    expect(a).toContain(msg);
  });

  it('never throws, whatever the arguments', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), fc.constantFrom('-n', '-f', '-t', '--since', '--until', '--tail', '--', '-ftn', '--level'))), (argv) => {
        const a = parseLogsArgs(argv);
        expect(typeof a === 'string' || typeof a === 'object').toBe(true);
      }),
    );
  });

  it('finds the API on SHIPLOG_URL, else on the local port SHIPLOG_HTTP_PORT', () => {
    expect(apiBase({ SHIPLOG_URL: 'http://h:1/' })).toBe('http://h:1');
    expect(apiBase({ SHIPLOG_HTTP_PORT: '31893' })).toBe('http://127.0.0.1:31893');
    expect(apiBase({})).toBe('http://127.0.0.1:9880');
  });
});

describe('--since / --until as docker reads them', () => {
  it('Unix seconds (docker), not milliseconds', () => {
    expect(dockerTime('--since', '1732557000')).toBe('2024-11-25T17:50:00Z');
    expect(dockerTime('--since', '1732557000.25')).toBe('2024-11-25T17:50:00.25Z');
  });

  it('Go durations before now', () => {
    expect(goDurationMs('1h30m')).toBe(5_400_000);
    expect(goDurationMs('1.5h')).toBe(5_400_000);
    expect(goDurationMs('2h45m10s')).toBe(9_910_000);
    expect(goDurationMs('500ms')).toBe(500);
    expect(dockerTime('--since', '42m')).toBe('2520000ms');
    expect(goDurationMs('1x')).toBeUndefined();
  });

  it('dates and zone-less times are local time; a zone is kept', () => {
    const local = (s: string) => {
      const t = dockerTime('--since', s);
      if (t instanceof Error) throw t;
      return Date.parse(t);
    };
    expect(local('2026-11-25')).toBe(new Date(2026, 10, 25).getTime());
    expect(local('2026-11-25T13:23')).toBe(new Date(2026, 10, 25, 13, 23).getTime());
    expect(local('2026-11-25 13:23:37')).toBe(new Date(2026, 10, 25, 13, 23, 37).getTime());
    expect(local('2026-11-25T13:23:37.5')).toBe(new Date(2026, 10, 25, 13, 23, 37, 500).getTime());
    expect(dockerTime('--since', '2026-11-25T13:23:37Z')).toBe('2026-11-25T13:23:37Z');
    expect(dockerTime('--since', '2026-11-25T13:23:37+01:00')).toBe('2026-11-25T13:23:37+01:00');
    expect(local('2026-11-25T13:23:37z')).toBe(Date.UTC(2026, 10, 25, 13, 23, 37));
  });
});
