/** The agent's HTTP endpoints: /healthz and /metrics. Built here, listened on by main. */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { AgentStatus } from '../agent.js';

export function buildAgentHttp(deps: { registry: Registry; status: () => AgentStatus }): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.registry.contentType);
    return deps.registry.metrics();
  });
  app.get('/healthz', async (_req, reply) => {
    const s = deps.status();
    // Alive while it can see Docker; a failing transport is reported but is not a reason to
    // restart the agent (it is retrying and Docker's log files hold the lines meanwhile).
    reply.code(s.docker === 'connected' ? 200 : 503);
    return { status: s.docker === 'connected' ? 'ok' : 'docker-unreachable', ...s };
  });
  return app;
}
