/**
 * The collector's HTTP app: built from its dependencies, listened on only by main.
 * /metrics (Prometheus), /healthz (alive), /readyz (consuming and storage reachable).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface CollectorStatus {
  consuming: boolean;
  storage: 'up' | 'down';
  storageKind: string;
}

export interface AppDeps {
  registry: Registry;
  status: () => CollectorStatus;
}

export function build(deps: AppDeps): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.registry.contentType);
    return deps.registry.metrics();
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const s = deps.status();
    const ready = s.consuming && s.storage === 'up';
    reply.code(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not-ready', ...s };
  });
  return app;
}
