import { describe, expect, it } from 'vitest';
import type { Line } from '../../../../agent/docker/assemble-lines.js';
import { STDOUT } from '../../../../agent/docker/decode-frames.js';
import { MultilineMerger, parseMultiline, type MultilineSpec } from '../../../../agent/process/multiline.js';

function merge(spec: MultilineSpec | string, texts: string[], maxLines = 500): string[] {
  if (typeof spec === 'string') throw new Error(spec);
  const m = new MultilineMerger(spec, { maxLines, maxBytes: 1 << 20 });
  const out: string[] = [];
  texts.forEach((t, i) => {
    const line: Line = { stream: STDOUT, ts: `2026-01-01T00:00:00.${String(i).padStart(9, '0')}Z`, msg: Buffer.from(t), cursor: { ts: 'x', n: i + 1 }, split: false };
    m.push(line, 0, (l) => out.push(l.msg.toString()));
  });
  m.flush((l) => out.push(l.msg.toString()));
  return out;
}

describe('multiline', () => {
  it('java: a stack trace with causes is one record', () => {
    const trace = [
      'Exception in thread "main" java.lang.IllegalStateException: boom',
      '\tat com.example.App.run(App.java:10)',
      'Caused by: java.io.IOException: disk',
      '\tat com.example.Io.write(Io.java:3)',
      '\t... 2 more',
    ];
    expect(merge(parseMultiline('java'), ['start', ...trace, 'after'])).toEqual(['start', trace.join('\n'), 'after']);
  });

  it('java: a logger line and the exception printed under it are one record (logback, log4j)', () => {
    const entry = [
      '2026-11-25 10:00:00.123 ERROR [main] c.e.App - request failed',
      'java.lang.IllegalStateException: boom',
      '\tat com.example.App.run(App.java:10)',
      'Caused by: org.example.DbError: gone',
      '\tat com.example.Db.q(Db.java:3)',
      '\t... 9 more',
    ];
    const second = ['2026-11-25 10:00:01.000 WARN  [main] c.e.App - retrying', 'com.example.RetryException', '\tat com.example.App.retry(App.java:20)'];
    expect(merge(parseMultiline('java'), [...entry, ...second, '2026-11-25 10:00:02.000 INFO  [main] c.e.App - ok'])).toEqual([
      entry.join('\n'),
      second.join('\n'),
      '2026-11-25 10:00:02.000 INFO  [main] c.e.App - ok',
    ]);
    // Not every line that names a class is an exception.
    expect(merge(parseMultiline('java'), ['start', 'com.example.Thing started', 'Errors: 0'])).toEqual(['start', 'com.example.Thing started', 'Errors: 0']);
  });

  it('python: a traceback including its exception line is one record', () => {
    const tb = ['Traceback (most recent call last):', '  File "app.py", line 3, in <module>', '    main()', 'ValueError: bad'];
    expect(merge(parseMultiline('python'), ['before', ...tb, 'after'])).toEqual(['before', tb.join('\n'), 'after']);
  });

  it('python: chained tracebacks stay together', () => {
    const tb = [
      'Traceback (most recent call last):',
      '  File "a.py", line 1, in <module>',
      'KeyError: 1',
      '',
      'During handling of the above exception, another exception occurred:',
      '',
      'Traceback (most recent call last):',
      '  File "a.py", line 3, in <module>',
      'ValueError: 2',
    ];
    expect(merge(parseMultiline('python'), [...tb, 'next'])).toEqual([tb.join('\n'), 'next']);
  });

  it('go: a panic with its goroutine dump is one record', () => {
    const panic = ['panic: runtime error: index out of range', '', 'goroutine 1 [running]:', 'main.main()', '\t/app/main.go:5 +0x1d', 'exit status 2'];
    expect(merge(parseMultiline('go'), ['ok', ...panic, 'listening on :8080'])).toEqual(['ok', panic.join('\n'), 'listening on :8080']);
  });

  it('custom start pattern: lines not matching it continue the record', () => {
    expect(merge(parseMultiline('^\\d{4}-'), ['2026-01-01 a', '  more', '  more', '2026-01-02 b'])).toEqual(['2026-01-01 a\n  more\n  more', '2026-01-02 b']);
  });

  it('cont: pattern joins matching lines to the previous one', () => {
    expect(merge(parseMultiline('cont:^\\+'), ['a', '+b', '+c', 'd'])).toEqual(['a\n+b\n+c', 'd']);
  });

  it('caps a record at the line limit; what follows starts a new record', () => {
    expect(merge(parseMultiline('cont:^\\+'), ['a', '+1', '+2', '+3', 'b'], 2)).toEqual(['a\n+1', '+2\n+3', 'b']);
  });

  it('rejects an invalid pattern with a message naming the label', () => {
    expect(parseMultiline('start:(')).toMatch(/shiplog.multiline/);
  });

  it('runs label patterns in linear time: a catastrophic backtracking pattern answers at once', () => {
    // With a backtracking engine each of these lines takes minutes (the test would time out).
    const evil = 'a'.repeat(40) + '!';
    expect(merge(parseMultiline('cont:^(a+)+$'), ['start', evil, evil, evil, 'aaaa'])).toEqual(['start', evil, evil, evil + '\naaaa']);
    expect(merge(parseMultiline('start:^(a|a)*$'), ['x', evil, evil])).toEqual(['x\n' + evil + '\n' + evil]);
  });

  it('refuses what RE2 cannot run in linear time (backreferences, lookaround) and over-long patterns', () => {
    expect(parseMultiline('cont:(a)\\1')).toMatch(/RE2 accepts/);
    expect(parseMultiline('cont:(?=a)b')).toMatch(/RE2 accepts/);
    expect(parseMultiline(`cont:${'a'.repeat(1001)}`)).toMatch(/at most 1000/);
  });
});
