/**
 * The log record shipped to `<prefix>.logs`: one Kafka message per container and batch of
 * consecutive lines, JSON, keyed by container id. Layout: schema/log-record.schema.json.
 *
 * Why a batch of lines per message rather than one per line: container metadata (labels can
 * be kilobytes) is written once per record instead of once per line, and the producer and
 * consumer handle far fewer messages; see bench/ for the measurement.
 *
 * A line's bytes travel as `msg` (a JSON string) when they are valid UTF-8, and as `msg_b64`
 * (base64 of the exact bytes) when they are not, so every line arrives byte-identical.
 */
import { isUtf8 } from 'node:buffer';
import { RECORD_VERSION, type RecordCursor } from '../../lib/records.js';
import type { Line } from '../docker/assemble-lines.js';
import type { ContainerMeta } from '../docker/containers.js';
import { orchestration } from '../docker/containers.js';
import { STDERR } from '../docker/decode-frames.js';
import { SHORT_ESCAPES } from '../../lib/json-escapes.js';

export type { LogRecord, RecordCursor } from '../../lib/records.js';
export { RECORD_VERSION };

/** The JSON text of a record's header, made once per container (and again on rename). */
export function encodeHeader(host: string, c: ContainerMeta): string {
  const o = orchestration(c.labels);
  const container = {
    id: c.id,
    name: c.name,
    image: c.image,
    image_id: c.imageId || undefined,
    labels: c.labels,
    compose_project: o.composeProject,
    compose_service: o.composeService,
    swarm_service: o.swarmService,
    swarm_task: o.swarmTask,
    stack: o.stack,
  };
  return `{"v":${RECORD_VERSION},"type":"logs","host":${JSON.stringify(host)},"container":${JSON.stringify(container)},"lines":[`;
}

export { isUtf8 };

const HEAD = Buffer.from('{"ts":"');
const MID_OUT = Buffer.from('","stream":"stdout","msg');
const MID_ERR = Buffer.from('","stream":"stderr","msg');
const TEXT = Buffer.from('":"');
const B64 = Buffer.from('_b64":"');
const SPLIT = Buffer.from(',"split":true');
const CONT = Buffer.from(',"cont":true');
const HEX = Buffer.from('0123456789abcdef');

/**
 * How each byte of a line is written inside a JSON string: 0 as itself, 1 as `\u00XX`, else
 * `\` and this letter (what JSON.stringify writes for the same text).
 */
const ESCAPE = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) ESCAPE[c] = 1;
for (const [byte, letter] of SHORT_ESCAPES) ESCAPE[byte] = letter;

/**
 * The most bytes encodeLineInto writes for a line: every byte of text escaped as `\u00XX`, or
 * base64 for bytes that are not UTF-8; the timestamp, if it is not the usual 30 ASCII
 * characters, as JSON escapes (at most 6 bytes per UTF-16 unit).
 */
export function lineBound(line: Line, utf8: boolean): number {
  const body = utf8 ? Math.max(line.msg.length * 6, line.json?.length ?? 0) : Math.ceil(line.msg.length / 3) * 4;
  return 80 + line.ts.length * 6 + body;
}

/**
 * Writes one line as a JSON object into buf at `at` (room for lineBound bytes):
 *   {"ts":"…","stream":"stdout","msg":"…"}  (or "msg_b64" when the bytes are not UTF-8)
 * with `"split":true` / `"cont":true` for the parts of a line cut at the line limit. The text
 * is escaped byte by byte, straight from the line's bytes: no string is made of it. Returns
 * the offset after it. `utf8` is isUtf8(line.msg), computed once by the caller.
 */
export function encodeLineInto(buf: Buffer, at: number, line: Line, utf8: boolean): number {
  let o = put(buf, at, HEAD);
  o = putTs(buf, o, line.ts);
  o = put(buf, o, line.stream === STDERR ? MID_ERR : MID_OUT);
  const msg = line.msg;
  if (utf8 && line.json) {
    // The reader's own escaping of these bytes (Docker's): copied as it is.
    o = put(buf, o, TEXT);
    buf.set(line.json, o);
    o += line.json.length;
  } else if (utf8) {
    o = put(buf, o, TEXT);
    for (let i = 0; i < msg.length; i++) {
      const c = msg[i] as number;
      const e = ESCAPE[c] as number;
      if (e === 0) buf[o++] = c;
      else if (e === 1) {
        buf[o++] = 0x5c;
        buf[o++] = 0x75;
        buf[o++] = 0x30;
        buf[o++] = 0x30;
        buf[o++] = HEX[c >> 4] as number;
        buf[o++] = HEX[c & 15] as number;
      } else {
        buf[o++] = 0x5c;
        buf[o++] = e;
      }
    }
  } else {
    o = put(buf, o, B64);
    o += buf.write(msg.toString('base64'), o, 'latin1');
  }
  buf[o++] = 0x22;
  if (line.split) o = put(buf, o, SPLIT);
  if (line.cont) o = put(buf, o, CONT);
  buf[o++] = 0x7d;
  return o;
}

function put(buf: Buffer, at: number, bytes: Buffer): number {
  for (let i = 0; i < bytes.length; i++) buf[at + i] = bytes[i] as number;
  return at + bytes.length;
}

/** A timestamp as the inside of a JSON string: as it is when it is plain ASCII (always, from Docker), else escaped. */
function putTs(buf: Buffer, at: number, ts: string): number {
  for (let i = 0; i < ts.length; i++) {
    const c = ts.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return at + buf.write(JSON.stringify(ts).slice(1, -1), at, 'utf8');
    buf[at + i] = c;
  }
  return at + ts.length;
}

/** A record: its header, then the lines (runs of encoded lines separated by commas), then the cursor after its last line. */
export function encodeRecord(header: Buffer, runs: readonly Buffer[], cursor: RecordCursor): Buffer {
  const parts: Buffer[] = [header];
  for (let i = 0; i < runs.length; i++) {
    if (i > 0) parts.push(COMMA);
    parts.push(runs[i] as Buffer);
  }
  parts.push(Buffer.from(`],"cursor":${JSON.stringify(cursor)}}`));
  return Buffer.concat(parts);
}

const COMMA = Buffer.from(',');

/** The exact bytes of a decoded line. */
export function lineBytes(l: { msg?: string; msg_b64?: string }): Buffer {
  return l.msg_b64 !== undefined ? Buffer.from(l.msg_b64, 'base64') : Buffer.from(l.msg ?? '', 'utf8');
}
