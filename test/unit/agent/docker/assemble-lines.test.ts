import { describe, expect, it } from 'vitest';
import { LineAssembler, type Line } from '../../../../agent/docker/assemble-lines.js';
import { DOCKER_PARTIAL_SIZE, STDOUT, type LogEntry } from '../../../../agent/docker/decode-frames.js';

const T = (n: number) => `2026-11-23T16:00:00.${String(n).padStart(9, '0')}Z`;
const entry = (ts: string, content: string | Buffer): LogEntry => ({ stream: STDOUT, ts, content: Buffer.isBuffer(content) ? content : Buffer.from(content) });

function run(a: LineAssembler, entries: LogEntry[], flush = false): Line[] {
  const out: Line[] = [];
  for (const e of entries) a.push(e, (l) => out.push(l));
  if (flush) a.flush((l) => out.push(l));
  return out;
}

describe('LineAssembler', () => {
  it('strips the newline and counts entries per timestamp in the cursor', () => {
    const piece = 'x'.repeat(DOCKER_PARTIAL_SIZE);
    const lines = run(new LineAssembler(STDOUT, 1 << 20, false), [entry(T(1), 'a\n'), entry(T(2), piece), entry(T(2), 'b\r\n'), entry(T(3), '\n')]);
    expect(lines.map((l) => l.msg.toString())).toEqual(['a', `${piece}b\r`, '']);
    expect(lines.map((l) => l.cursor)).toEqual([
      { ts: T(1), n: 1 },
      { ts: T(2), n: 2 },
      { ts: T(3), n: 1 },
    ]);
  });

  it('strips \\r\\n on TTY streams (the terminal added the \\r)', () => {
    const lines = run(new LineAssembler(STDOUT, 1 << 20, true), [entry(T(1), 'a\r\n'), entry(T(2), 'crlf\r\r\n')]);
    expect(lines.map((l) => l.msg.toString())).toEqual(['a', 'crlf\r']);
  });

  it("joins Docker's 16 KiB pieces into the original line, stamped with the first piece's time", () => {
    const piece = 'x'.repeat(DOCKER_PARTIAL_SIZE);
    const lines = run(new LineAssembler(STDOUT, 1 << 20, false), [entry(T(1), piece), entry(T(1), piece), entry(T(2), 'end\n'), entry(T(3), 'next\n')]);
    expect(lines).toHaveLength(2);
    expect(lines[0]?.msg.length).toBe(2 * DOCKER_PARTIAL_SIZE + 3);
    expect(lines[0]?.ts).toBe(T(1));
    expect(lines[0]?.cursor).toEqual({ ts: T(2), n: 1 });
  });

  it("ends a line at a short piece without newline (the local driver's last piece)", () => {
    const piece = 'y'.repeat(DOCKER_PARTIAL_SIZE);
    const lines = run(new LineAssembler(STDOUT, 1 << 20, false), [entry(T(1), piece), entry(T(1), ''), entry(T(2), 'last\n')]);
    expect(lines.map((l) => l.msg.length)).toEqual([DOCKER_PARTIAL_SIZE, 4]);
  });

  it('ships lines over the limit as parts marked split, losing nothing', () => {
    const piece = 'z'.repeat(DOCKER_PARTIAL_SIZE);
    const lines = run(new LineAssembler(STDOUT, 2 * DOCKER_PARTIAL_SIZE, false), [entry(T(1), piece), entry(T(1), piece), entry(T(1), piece), entry(T(1), 'q\n')]);
    expect(lines.map((l) => [l.msg.length, l.split, l.cont ?? false])).toEqual([
      [2 * DOCKER_PARTIAL_SIZE, true, false],
      [DOCKER_PARTIAL_SIZE + 1, false, true],
    ]);
  });

  it('resumes exactly after a cursor: skips the n entries with its timestamp, and older ones', () => {
    // Pieces of one long line share a timestamp: the cursor counts them.
    const piece = 'y'.repeat(DOCKER_PARTIAL_SIZE);
    const all = [entry(T(1), 'a\n'), entry(T(2), piece), entry(T(2), piece), entry(T(2), 'd\n'), entry(T(3), 'e\n')];
    const a = new LineAssembler(STDOUT, DOCKER_PARTIAL_SIZE, false, { ts: T(2), n: 1 });
    const lines = run(a, all);
    expect(lines.map((l) => l.msg.toString())).toEqual([piece, 'd', 'e']);
    expect(lines[0]?.cursor).toEqual({ ts: T(2), n: 2 });
    expect(a.skipped).toBe(2);
  });

  it('drops entries Docker sends again when its stream jumps back in time (rotation replay)', () => {
    const a = new LineAssembler(STDOUT, 1 << 20, false);
    const lines = run(a, [entry(T(1), 'a\n'), entry(T(2), 'b\n'), entry(T(3), 'c\n'), entry(T(1), 'a\n'), entry(T(2), 'b\n'), entry(T(3), 'c\n'), entry(T(4), 'd\n')]);
    expect(lines.map((l) => l.msg.toString())).toEqual(['a', 'b', 'c', 'd']);
    expect(a.replays).toBe(1);
    expect(a.replaySkipped).toBe(3);
  });

  it('drops a replay that starts at the very last entry (same timestamp, not inside a multi-piece line)', () => {
    const a = new LineAssembler(STDOUT, 1 << 20, false);
    const lines = run(a, [entry(T(1), 'a\n'), entry(T(2), 'b\n'), entry(T(2), 'b\n'), entry(T(3), 'c\n')]);
    expect(lines.map((l) => l.msg.toString())).toEqual(['a', 'b', 'c']);
  });

  it('keeps different lines that share a timestamp (a coarse clock)', () => {
    const lines = run(new LineAssembler(STDOUT, 1 << 20, false), [entry(T(1), 'a\n'), entry(T(1), 'b\n'), entry(T(1), 'c\n'), entry(T(2), 'd\n')]);
    expect(lines.map((l) => l.msg.toString())).toEqual(['a', 'b', 'c', 'd']);
    expect(lines[2]?.cursor).toEqual({ ts: T(1), n: 3 });
  });

  it('keeps pieces of one line that share a timestamp, also across a split part', () => {
    const piece = 'p'.repeat(DOCKER_PARTIAL_SIZE);
    const a = new LineAssembler(STDOUT, DOCKER_PARTIAL_SIZE, false);
    const lines = run(a, [entry(T(1), piece), entry(T(1), piece), entry(T(1), 'end\n')]);
    expect(lines.map((l) => [l.msg.length, l.split, l.cont ?? false])).toEqual([
      [DOCKER_PARTIAL_SIZE, true, false],
      [DOCKER_PARTIAL_SIZE, true, true],
      [3, false, true],
    ]);
    expect(a.replays).toBe(0);
    // The next line is a line of its own.
    expect(run(a, [entry(T(2), 'next\n')]).map((l) => l.cont ?? false)).toEqual([false]);
  });

  it('flushes an unterminated line at the end of the stream', () => {
    const piece = 'w'.repeat(DOCKER_PARTIAL_SIZE);
    const lines = run(new LineAssembler(STDOUT, 1 << 20, false), [entry(T(1), piece)], true);
    expect(lines.map((l) => l.msg.length)).toEqual([DOCKER_PARTIAL_SIZE]);
  });
});
