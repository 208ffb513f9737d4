/**
 * A read-only Docker Engine API client over the unix socket (or tcp:// DOCKER_HOST).
 * It negotiates the API version once, and can only send GET requests: anything else is
 * refused before a byte is written, so the agent can never change the host it watches.
 */
import http from 'node:http';
import {
  DockerApiError,
  DockerNotFoundError,
  DockerReadOnlyError,
  DockerUnreachableError,
} from '../../lib/errors.js';

/** Newest API version this client is written against; older daemons are spoken to in their own. */
export const MAX_API_VERSION = '1.45';
export const MIN_API_VERSION = '1.24';

export interface DockerEndpoint {
  socketPath?: string;
  host?: string;
  port?: number;
  /** DOCKER_HOST as given, for messages. */
  display: string;
}

export function parseDockerHost(value: string | undefined): DockerEndpoint | string {
  const v = value === undefined || value === '' ? 'unix:///var/run/docker.sock' : value;
  if (v.startsWith('unix://')) {
    const p = v.slice('unix://'.length);
    return p.startsWith('/') ? { socketPath: p, display: v } : `DOCKER_HOST: "${v}" needs an absolute socket path (unix:///path)`;
  }
  const m = /^(?:tcp|http):\/\/([^:/]+):(\d+)\/?$/.exec(v);
  if (m) return { host: m[1] as string, port: Number(m[2]), display: v };
  return `DOCKER_HOST: "${v}" is not unix:///path or tcp://host:port (TLS endpoints are not supported yet)`;
}

export function compareApiVersions(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am !== bm ? am - bm : an - bn;
}

type Query = Record<string, string | number | boolean | undefined>;

export class DockerClient {
  private readonly agent: http.Agent;
  private apiVersion: string | undefined;

  constructor(readonly endpoint: DockerEndpoint, private readonly requestTimeoutMs = 30_000) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  }

  get version(): string | undefined {
    return this.apiVersion;
  }

  private engineKind: 'docker' | 'podman' = 'docker';

  /** Which engine answers (its /version Components): Podman writes a line in pieces as the program wrote them. */
  get engine(): 'docker' | 'podman' {
    return this.engineKind;
  }

  /** GET /version without a version prefix and settle on min(daemon, ours). */
  async negotiate(): Promise<string> {
    const info = (await this.getJson('/version', {}, false)) as { ApiVersion?: string; MinAPIVersion?: string; Components?: { Name?: unknown }[] };
    this.engineKind = (info.Components ?? []).some((c) => typeof c?.Name === 'string' && /podman/i.test(c.Name)) ? 'podman' : 'docker';
    const daemon = info.ApiVersion ?? MIN_API_VERSION;
    this.apiVersion = compareApiVersions(daemon, MAX_API_VERSION) < 0 ? daemon : MAX_API_VERSION;
    return this.apiVersion;
  }

  async getJson(path: string, query: Query = {}, versioned = true): Promise<unknown> {
    const res = await this.open('GET', path, query, versioned, this.requestTimeoutMs);
    const body = await readBody(res);
    try {
      return JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new DockerApiError(res.statusCode ?? 0, path, `response is not JSON: ${String(err)}`);
    }
  }

  /**
   * Open a streaming GET (logs, events, stats). The caller owns the response and must consume
   * or destroy it. No timeout applies once the headers arrived: follow streams are long-lived.
   */
  stream(path: string, query: Query = {}): Promise<http.IncomingMessage> {
    return this.open('GET', path, query, true, this.requestTimeoutMs, true);
  }

  /**
   * The one place a request leaves this client. Public only so that a test can prove that
   * non-GET methods are refused; callers use getJson and stream.
   */
  open(
    method: string,
    path: string,
    query: Query,
    versioned: boolean,
    headerTimeoutMs: number,
    streaming = false,
  ): Promise<http.IncomingMessage> {
    if (method !== 'GET') return Promise.reject(new DockerReadOnlyError(method, path));
    const full = (versioned && this.apiVersion ? `/v${this.apiVersion}` : '') + path + encodeQuery(query);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          method: 'GET',
          path: full,
          agent: this.agent,
          socketPath: this.endpoint.socketPath,
          host: this.endpoint.socketPath ? 'docker' : this.endpoint.host,
          port: this.endpoint.port,
          headers: { Accept: 'application/json' },
        },
        (res) => {
          clearTimeout(timer);
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            resolve(res);
            return;
          }
          readBody(res).then(
            (body) => {
              const text = extractMessage(body);
              reject(status === 404 ? new DockerNotFoundError(path, text) : new DockerApiError(status, path, text));
            },
            (err: unknown) => reject(new DockerUnreachableError(this.endpoint.display, err)),
          );
        },
      );
      const timer = setTimeout(() => {
        req.destroy(new Error(`no response within ${headerTimeoutMs} ms`));
      }, headerTimeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(new DockerUnreachableError(this.endpoint.display, err));
      });
      if (streaming) req.setNoDelay?.(true);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function encodeQuery(query: Query): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(typeof v === 'boolean' ? (v ? '1' : '0') : String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

function readBody(res: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
  });
}

function extractMessage(body: Buffer): string {
  const text = body.toString('utf8');
  try {
    const j = JSON.parse(text) as { message?: string };
    return j.message ?? text;
  } catch {
    return text;
  }
}
