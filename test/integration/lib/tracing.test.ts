/**
 * The pipeline's own traces over OTLP/HTTP, against a local OTLP/HTTP receiver (a plain HTTP
 * server taking the exporter's JSON): with OTEL_EXPORTER_OTLP_ENDPOINT set, the agent's Kafka
 * sends and the collector's batches and inserts arrive as spans named and attributed by the
 * current semantic conventions (messaging.*, db.*), and the collector's batch links to the
 * sends whose records it processed (the context rode in each record's traceparent header).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCleanups } from '../../helpers/cleanup.js';
import { removeContainers, runContainer, waitExit } from '../../helpers/docker.js';
import { waitFor } from '../../helpers/kafka-read.js';
import { startPipeline } from '../../helpers/pipeline.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
  links?: { traceId: string; spanId: string }[];
}
interface Received {
  service: string;
  span: OtlpSpan;
}

const cleanups: (() => Promise<void> | void)[] = [];
const received: Received[] = [];
let server: Server;
let endpoint = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        expect(req.url).toBe('/v1/traces');
        const doc = JSON.parse(body.toString()) as { resourceSpans: { resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: { spans: OtlpSpan[] }[] }[] };
        for (const rs of doc.resourceSpans) {
          const service = String(rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue);
          for (const ss of rs.scopeSpans) for (const span of ss.spans) received.push({ service, span });
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch (err) {
        res.writeHead(400).end(String(err));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await runCleanups(cleanups);
  server?.close();
});

const attr = (s: OtlpSpan, key: string) => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  return v ? (v.stringValue ?? v.intValue ?? v.boolValue) : undefined;
};

describe('OpenTelemetry traces of the pipeline', () => {
  it('agent sends, collector batches and inserts reach an OTLP/HTTP receiver, linked through the Kafka headers', async () => {
    const prefix = `tr-${randomUUID().slice(0, 8)}`;
    const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '200' };
    const { scope } = await startPipeline({ prefix, group: `g-${prefix}`, agentEnv: otel, collectorEnv: otel }, cleanups);
    const c = await runContainer({ script: 'seq 1 50', labels: scope.labels });
    cleanups.push(() => removeContainers([c.id]));
    await waitExit(c.id);
    const topic = `${prefix}.logs`;
    const sends = () => received.filter((r) => r.span.name === `send ${topic}`);
    const processes = () => received.filter((r) => r.span.name === `process ${topic}`);
    await waitFor(() => sends().length > 0 && processes().some((p) => (p.span.links ?? []).length > 0) && received.some((r) => r.span.name === 'INSERT otel_logs'), 90_000, 'the spans at the receiver').catch((err) => {
      console.log(JSON.stringify([...new Set(received.map((r) => `${r.service} ${r.span.name} links=${r.span.links?.length ?? 0}`))]));
      throw err;
    });

    const send = sends()[0] as Received;
    expect(send.service).toBe('shiplog-agent');
    expect(send.span.kind).toBe(4); // PRODUCER
    expect(attr(send.span, 'messaging.system')).toBe('kafka');
    expect(attr(send.span, 'messaging.operation.type')).toBe('send');
    expect(attr(send.span, 'messaging.destination.name')).toBe(topic);
    expect(Number(attr(send.span, 'messaging.batch.message_count'))).toBeGreaterThan(0);

    const sendIds = new Set(sends().map((s) => `${s.span.traceId}/${s.span.spanId}`));
    const linked = processes().find((p) => (p.span.links ?? []).some((l) => sendIds.has(`${l.traceId}/${l.spanId}`)));
    expect(linked, 'a collector batch linked to an agent send').toBeDefined();
    const proc = linked as Received;
    expect(proc.service).toBe('shiplog-collector');
    expect(proc.span.kind).toBe(5); // CONSUMER
    expect(attr(proc.span, 'messaging.operation.type')).toBe('process');
    expect(attr(proc.span, 'messaging.consumer.group.name')).toBe(`g-${prefix}`);

    // The insert is a child of a batch's span.
    const insert = received.find((r) => r.span.name === 'INSERT otel_logs' && r.span.traceId === proc.span.traceId);
    expect(insert?.span.parentSpanId).toBe(proc.span.spanId);
    expect(insert?.span.kind).toBe(3); // CLIENT
    expect(attr(insert?.span as OtlpSpan, 'db.system.name')).toBe('clickhouse');
    expect(attr(insert?.span as OtlpSpan, 'db.collection.name')).toBe('otel_logs');
    expect(attr(insert?.span as OtlpSpan, 'db.namespace')).toBe('shiplog');
  }, 180_000);
});
