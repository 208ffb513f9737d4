/**
 * The agent's HTTP endpoints: /healthz, /readyz and /metrics. Built here, listened on by main.
 *
 * Plain node:http rather than fastify (which the collector's API uses): two fixed GET routes
 * need no router, and loading fastify costs the agent ~19 MiB of RSS (measured: a Node process
 * importing fastify, 58 MiB, against 39 MiB without), a fifth of its whole footprint.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { AgentStatus } from '../agent.js';

export interface AgentHttp {
  /** Resolves with the address it listens on, e.g. http://127.0.0.1:9881. */
  listen(o: { host: string; port: number }): Promise<string>;
  close(): Promise<void>;
}

export function buildAgentHttp(deps: { registry: Registry; status: () => AgentStatus }): AgentHttp {
  const send = (res: ServerResponse, code: number, type: string, body: string) => {
    res.writeHead(code, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const json = (res: ServerResponse, code: number, body: unknown) => send(res, code, 'application/json; charset=utf-8', JSON.stringify(body));
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    // Nothing here reads a body: a request that sends one is answered and the connection closed.
    req.resume();
    const path = (req.url ?? '').split('?', 1)[0];
    if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz') return json(res, 404, { error: 'not_found', message: `no route ${path}` });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return json(res, 405, { error: 'method_not_allowed', message: `${req.method} is not allowed on ${path}` });
    }
    if (path === '/metrics') return send(res, 200, deps.registry.contentType, await deps.registry.metrics());
    const s = deps.status();
    if (path === '/readyz') {
      // Ready while lines go out: Docker answers and sends are acknowledged (a send waiting
      // over 10 s counts as failing, e.g. no partition has enough in-sync replicas).
      const ready = s.docker === 'connected' && s.transport === 'ok';
      return json(res, ready ? 200 : 503, { status: ready ? 'ready' : s.docker !== 'connected' ? 'docker-unreachable' : 'transport-failing', ...s });
    }
    // Alive while it can see Docker; a failing transport is reported but is not a reason to
    // restart the agent (it is retrying and Docker's log files hold the lines meanwhile).
    return json(res, s.docker === 'connected' ? 200 : 503, { status: s.docker === 'connected' ? 'ok' : 'docker-unreachable', ...s });
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { error: 'internal', message: err instanceof Error ? err.message : String(err) });
      else res.destroy();
    });
  });
  // A client that is slow to send its request does not hold a connection for minutes.
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  return {
    listen: ({ host, port }) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const a = server.address() as AddressInfo;
          resolve(`http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
