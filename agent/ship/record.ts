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

const STREAM_STDOUT = '","stream":"stdout",';
const STREAM_STDERR = '","stream":"stderr",';

export { isUtf8 };

/** One line as a JSON object text; `utf8` is isUtf8(line.msg), computed once by the caller. */
export function encodeLine(line: Line, utf8: boolean): string {
  const head = `{"ts":"${line.ts}${line.stream === STDERR ? STREAM_STDERR : STREAM_STDOUT}`;
  const body = utf8
    ? `"msg":${JSON.stringify(line.msg.toString('utf8'))}`
    : `"msg_b64":"${line.msg.toString('base64')}"`;
  return `${head}${body}${line.split ? ',"split":true' : ''}${line.cont ? ',"cont":true' : ''}}`;
}

/** Closes a record: lines joined by commas, then the cursor after its last line. */
export function encodeRecord(header: string, lines: readonly { json: string }[], start: number, end: number, cursor: RecordCursor): string {
  let s = header;
  for (let i = start; i < end; i++) {
    if (i > start) s += ',';
    s += (lines[i] as { json: string }).json;
  }
  return `${s}],"cursor":${JSON.stringify(cursor)}}`;
}

/** The exact bytes of a decoded line. */
export function lineBytes(l: { msg?: string; msg_b64?: string }): Buffer {
  return l.msg_b64 !== undefined ? Buffer.from(l.msg_b64, 'base64') : Buffer.from(l.msg ?? '', 'utf8');
}
