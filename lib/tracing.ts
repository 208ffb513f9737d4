/**
 * Traces of the pipeline itself, over OTLP/HTTP, when OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set: the agent's Kafka sends, the collector's batches
 * and inserts, with the trace context carried in each Kafka record's `traceparent` header. The
 * SDK is an optional dependency and is loaded only then; otherwise @opentelemetry/api's no-op
 * tracer answers every call and no header is added. The exporter reads the standard OTEL_*
 * variables itself (endpoint, headers, timeout); OTEL_SERVICE_NAME overrides the service name.
 */
import { context, propagation, trace, type Context, type Link } from '@opentelemetry/api';
import { ConfigError, describe } from './errors.js';
import type { Logger } from './logger.js';

export interface Tracing {
  /** Sends what is buffered and stops (at shutdown). */
  shutdown(): Promise<void>;
}

const NONE: Tracing = { shutdown: async () => undefined };

/** Starts exporting when the environment asks for it; a no-op otherwise. */
export async function startTracing(service: string, env: NodeJS.ProcessEnv, log: Logger): Promise<Tracing> {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint || env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return NONE;
  const setting = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  try {
    new URL(endpoint);
  } catch {
    throw new ConfigError([`${setting}: "${endpoint.slice(0, 200)}" is not a URL (http://collector:4318)`]);
  }
  let sdk;
  try {
    const [traceSdk, exporter, core, resources, hooks] = await Promise.all([
      import('@opentelemetry/sdk-trace'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/core'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/context-async-hooks'),
    ]);
    sdk = { traceSdk, exporter, core, resources, hooks };
  } catch (err) {
    throw new ConfigError([`${setting} is set, but the OpenTelemetry SDK is not installed (optional dependencies @opentelemetry/sdk-trace, exporter-trace-otlp-http, context-async-hooks; npm install without --omit=optional): ${describe(err)}`]);
  }
  const { traceSdk, exporter, core, resources, hooks } = sdk;
  // As the specification says: the traces endpoint as it is, the general one + /v1/traces.
  const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || `${endpoint.replace(/\/+$/, '')}/v1/traces`;
  // OTEL_BSP_SCHEDULE_DELAY (ms), the standard variable, sets how often spans are sent (default 5 s).
  const delay = Number(env.OTEL_BSP_SCHEDULE_DELAY);
  const provider = new traceSdk.TracerProvider({
    resource: resources.resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || service }),
    spanProcessors: [new traceSdk.BatchSpanProcessor({ exporter: new exporter.OTLPTraceExporter({ url }), ...(delay > 0 ? { scheduledDelayMillis: delay } : {}) })],
  });
  // The active span follows awaits (a send's context into its records' headers, an insert under its batch).
  context.setGlobalContextManager(new hooks.AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new core.W3CTraceContextPropagator());
  log.info({ endpoint: url, service: env.OTEL_SERVICE_NAME || service }, 'exporting traces over OTLP/HTTP');
  return {
    async shutdown() {
      try {
        await provider.shutdown();
      } catch (err) {
        log.warn({ err: describe(err) }, 'traces not all exported at shutdown');
      }
    },
  };
}

/** The W3C trace context of `ctx` as Kafka headers ({} when no propagator is registered). */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(ctx, headers);
  return headers;
}

/** At most this many links on a batch's span (a batch can hold thousands of records). */
const MAX_LINKS = 128;

/** Links to the distinct trace contexts carried by records' headers (kafkajs gives Buffers). */
export function linksFromHeaders(all: (Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined)[]): Link[] {
  const links: Link[] = [];
  const seen = new Set<string>();
  for (const h of all) {
    const tp = h?.traceparent;
    if (tp === undefined) continue;
    const value = (Array.isArray(tp) ? tp[0] : tp)?.toString();
    if (!value || seen.has(value)) continue;
    seen.add(value);
    const span = trace.getSpanContext(propagation.extract(context.active(), { traceparent: value }));
    if (span && trace.isSpanContextValid(span)) links.push({ context: span });
    if (links.length >= MAX_LINKS) break;
  }
  return links;
}
