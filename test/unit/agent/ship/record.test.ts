import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import type { ContainerMeta } from '../../../../agent/docker/containers.js';
import { STDERR, STDOUT } from '../../../../agent/docker/decode-frames.js';
import { encodeHeader, encodeLine, encodeRecord, isUtf8, lineBytes, type LogRecord } from '../../../../agent/ship/record.js';

const meta: ContainerMeta = {
  id: 'ab'.repeat(32), name: 'api', image: 'api:1', imageId: 'sha256:1', tty: false, running: true, env: [], created: '', startedAt: '', finishedAt: '', exitCode: 0, logDriver: 'json-file', logPath: '',
  labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'api', 'com.docker.swarm.task.name': 'api.1.x' },
};
const schema = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../../schema/log-record.schema.json'), 'utf8')) as object;
const validate = new Ajv2020({ strict: false }).compile(schema);

function record(msgs: Buffer[]): LogRecord {
  const lines = msgs.map((msg, i) => ({ json: encodeLine({ stream: i % 2 ? STDERR : STDOUT, ts: '2026-11-23T16:00:00.000000001Z', msg, cursor: { ts: 'x', n: 1 }, split: false }, isUtf8(msg)) }));
  const cursor = { stdout: { ts: '2026-11-23T16:00:00.000000001Z', n: 1 } };
  return JSON.parse(encodeRecord(encodeHeader('host-1', meta), lines, 0, lines.length, cursor)) as LogRecord;
}

describe('log record', () => {
  it('round-trips any bytes exactly: text as msg, invalid UTF-8 as msg_b64', () => {
    const msgs = [Buffer.from('plain'), Buffer.from([0xff, 0x00, 0xc3]), Buffer.from('\x1b[1mbold\x1b[0m "quoted" \\ \t'), Buffer.from('ünïcødé 🚀'), Buffer.alloc(0)];
    const rec = record(msgs);
    expect(rec.lines.map((l) => lineBytes(l))).toEqual(msgs);
    expect(rec.lines[1]?.msg_b64).toBeDefined();
    expect(rec.lines[0]?.msg).toBe('plain');
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
