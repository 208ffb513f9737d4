import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ContainerMeta } from '../../../../agent/docker/containers.js';
import { STDERR, STDOUT } from '../../../../agent/docker/decode-frames.js';
import { encodeHeader, encodeLineInto, encodeRecord, isUtf8, lineBound, lineBytes, type LogRecord } from '../../../../agent/ship/record.js';

const meta: ContainerMeta = {
  id: 'ab'.repeat(32), name: 'api', image: 'api:1', imageId: 'sha256:1', tty: false, running: true, env: [], created: '', startedAt: '', finishedAt: '', exitCode: 0, logDriver: 'json-file', logPath: '',
  labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'api', 'com.docker.swarm.task.name': 'api.1.x' },
};
const schema = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../../schema/log-record.schema.json'), 'utf8')) as object;
const validate = new Ajv2020({ strict: false }).compile(schema);

type LineIn = Parameters<typeof encodeLineInto>[2];

/** Lines encoded into blocks of `perBlock` (as the shipper does), then one record of those blocks. */
function record(msgs: Buffer[], perBlock = 2, more: Partial<LineIn> = {}): LogRecord {
  const runs: Buffer[] = [];
  for (let i = 0; i < msgs.length; i += perBlock) {
    const lines = msgs.slice(i, i + perBlock).map((msg, j): LineIn => ({ stream: (i + j) % 2 ? STDERR : STDOUT, ts: '2026-11-23T16:00:00.000000001Z', msg, cursor: { ts: 'x', n: 1 }, split: false, ...more }));
    const buf = Buffer.alloc(lines.reduce((n, l) => n + lineBound(l, isUtf8(l.msg)) + 1, 0));
    let at = 0;
    for (const [j, l] of lines.entries()) {
      if (j > 0) buf[at++] = 0x2c;
      const end = encodeLineInto(buf, at, l, isUtf8(l.msg));
      expect(end - at).toBeLessThanOrEqual(lineBound(l, isUtf8(l.msg)));
      at = end;
    }
    runs.push(buf.subarray(0, at));
  }
  const cursor = { stdout: { ts: '2026-11-23T16:00:00.000000001Z', n: 1 } };
  return JSON.parse(encodeRecord(Buffer.from(encodeHeader('host-1', meta)), runs, cursor).toString('utf8')) as LogRecord;
}

describe('log record', () => {
  it('round-trips any bytes exactly: text as msg, invalid UTF-8 as msg_b64', () => {
    const msgs = [Buffer.from('plain'), Buffer.from([0xff, 0x00, 0xc3]), Buffer.from('\x1b[1mbold\x1b[0m "quoted" \\ \t'), Buffer.from('ünïcødé 🚀'), Buffer.alloc(0)];
    const rec = record(msgs);
    expect(rec.lines.map((l) => lineBytes(l))).toEqual(msgs);
    expect(rec.lines[1]?.msg_b64).toBeDefined();
    expect(rec.lines[0]?.msg).toBe('plain');
  });

  it('writes any bytes as JSON.parse reads them back, whole or as split parts', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 9 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.boolean(), (arrays, perBlock, split, cont) => {
        const msgs = arrays.map((a) => Buffer.from(a));
        const rec = record(msgs, perBlock, { split, cont: cont || undefined });
        expect(rec.lines.map((l) => lineBytes(l).toString('hex'))).toEqual(msgs.map((m) => m.toString('hex')));
        expect(rec.lines.every((l) => (l.split === true) === split && (l.cont === true) === cont)).toBe(true);
        expect(rec.lines.map((l) => l.stream)).toEqual(msgs.map((_, i) => (i % 2 ? 'stderr' : 'stdout')));
      }),
      { numRuns: 300 },
    );
    // Text bytes are escaped exactly where JSON.stringify escapes them.
    const text = Buffer.from('tab\t nl\n quote" back\\ nul\u0000 esc\u001b del\u007f é 🚀');
    const json = Buffer.alloc(400);
    const end = encodeLineInto(json, 0, { stream: STDOUT, ts: 't', msg: text, cursor: { ts: 't', n: 1 }, split: false }, true);
    expect(json.toString('utf8', 0, end)).toBe(`{"ts":"t","stream":"stdout","msg":${JSON.stringify(text.toString())}}`);
    // A reader's own escaping of the bytes (file mode: Docker's) is copied as it is.
    const docker = Buffer.alloc(200);
    const to = encodeLineInto(docker, 0, { stream: STDERR, ts: 't', msg: Buffer.from('a<b "c"'), json: Buffer.from(String.raw`a\u003cb \"c\"`), cursor: { ts: 't', n: 1 }, split: false }, true);
    expect(docker.toString('utf8', 0, to)).toBe(String.raw`{"ts":"t","stream":"stderr","msg":"a\u003cb \"c\""}`);
    expect((JSON.parse(docker.toString('utf8', 0, to)) as { msg: string }).msg).toBe('a<b "c"');
  });

  it('carries container metadata and orchestration labels', () => {
    const rec = record([Buffer.from('x')]);
    expect(rec.container).toMatchObject({ id: meta.id, name: 'api', image: 'api:1', compose_project: 'shop', compose_service: 'api', swarm_task: 'api.1.x' });
    expect(rec.host).toBe('host-1');
  });

  it('validates against the published JSON Schema; the schema rejects a broken record', () => {
    const rec = record([Buffer.from('a'), Buffer.from([0xfe])]);
    expect(validate(rec), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...rec, lines: [] })).toBe(false);
    expect(validate({ ...rec, lines: [{ ts: 'yesterday', stream: 'stdout', msg: 'x' }] })).toBe(false);
  });
});
