import { propagation } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../lib/logger.js';
import { linksFromHeaders, startTracing, traceHeaders } from '../../../lib/tracing.js';

const log = createLogger('test', 'silent');
const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

afterEach(() => propagation.disable());

describe('tracing', () => {
  it('is off without an OTLP endpoint: no SDK loaded, no header added to records', async () => {
    const t = await startTracing('shiplog-agent', {}, log);
    await t.shutdown();
    expect(traceHeaders()).toEqual({});
    expect(linksFromHeaders([{ traceparent: Buffer.from(TP) }])).toEqual([]);
  });

  it('refuses an endpoint that is not a URL, naming the setting', async () => {
    await expect(startTracing('x', { OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }, log)).rejects.toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
    await expect(startTracing('x', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '::' }, log)).rejects.toThrow(/OTEL_EXPORTER_OTLP_TRACES_ENDPOINT/);
  });

  it('links a batch to the distinct contexts its records carry; hostile headers are skipped, never thrown', () => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const links = linksFromHeaders([{ traceparent: Buffer.from(TP) }, { traceparent: TP }, undefined, {}, { traceparent: [Buffer.from(TP)] }, { traceparent: 'garbage' }, { traceparent: Buffer.alloc(1 << 20, 0x41) }]);
    expect(links).toHaveLength(1);
    expect(links[0]?.context).toMatchObject({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' });
    fc.assert(
      fc.property(fc.array(fc.record({ traceparent: fc.oneof(fc.string(), fc.uint8Array().map((a) => Buffer.from(a))) }), { maxLength: 20 }), (headers) => {
        expect(() => linksFromHeaders(headers)).not.toThrow();
      }),
    );
    // At most 128 links, however many distinct contexts a batch has.
    const many = Array.from({ length: 500 }, (_, i) => ({ traceparent: `00-${i.toString(16).padStart(32, '1')}-b7ad6b7169203331-01` }));
    expect(linksFromHeaders(many)).toHaveLength(128);
  });
});
