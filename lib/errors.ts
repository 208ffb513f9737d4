/**
 * Typed errors with a closed list of codes. Each is raised at the boundary where the
 * outside world failed (Docker, Kafka, the file system, configuration) and keeps the
 * original failure as `cause`.
 */
import { statfsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export const ERROR_CODES = {
  CONFIG_INVALID: 'SHIPLOG_CONFIG_INVALID',
  DOCKER_UNREACHABLE: 'SHIPLOG_DOCKER_UNREACHABLE',
  DOCKER_API: 'SHIPLOG_DOCKER_API',
  DOCKER_NOT_FOUND: 'SHIPLOG_DOCKER_NOT_FOUND',
  DOCKER_READ_ONLY: 'SHIPLOG_DOCKER_READ_ONLY',
  DOCKER_STREAM: 'SHIPLOG_DOCKER_STREAM',
  KAFKA: 'SHIPLOG_KAFKA',
  CHECKPOINT: 'SHIPLOG_CHECKPOINT',
  RECORD_INVALID: 'SHIPLOG_RECORD_INVALID',
  RECORD_TOO_LARGE: 'SHIPLOG_RECORD_TOO_LARGE',
  STORAGE: 'SHIPLOG_STORAGE',
  BAD_PARAMETER: 'SHIPLOG_BAD_PARAMETER',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export class ShiplogError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** One or more settings are invalid; `problems` names every bad setting at once. */
export class ConfigError extends ShiplogError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(ERROR_CODES.CONFIG_INVALID, problems.length === 1 ? `invalid configuration: ${problems[0]}` : `invalid configuration:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

/** The Docker engine could not be reached at all (socket missing, connection refused). */
export class DockerUnreachableError extends ShiplogError {
  readonly endpoint: string;
  constructor(endpoint: string, cause: unknown) {
    super(ERROR_CODES.DOCKER_UNREACHABLE, `cannot reach the Docker engine at ${endpoint}: ${describe(cause)}`, { cause });
    this.endpoint = endpoint;
  }

  /** What to do about it, for the one line a user sees at start-up. */
  get advice(): string {
    const code = (this.cause as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'EACCES' || code === 'EPERM')
      return 'This user may not open the Docker socket: add it to the docker group (sudo usermod -aG docker $USER, then log in again), or in a container run with the socket\'s group (--group-add $(stat -c %g /var/run/docker.sock))';
    if (code === 'ENOENT' || code === 'ECONNREFUSED') return 'Is the Docker engine running? Set DOCKER_HOST (unix:///path/to/docker.sock or tcp://host:port) if it listens elsewhere';
    return 'Set DOCKER_HOST (unix:///path/to/docker.sock or tcp://host:port) to point elsewhere';
  }
}

/** Docker answered with an error status. */
export class DockerApiError extends ShiplogError {
  readonly status: number;
  constructor(status: number, path: string, body: string) {
    super(ERROR_CODES.DOCKER_API, `Docker API ${status} for ${path}: ${body.trim().slice(0, 500)}`);
    this.status = status;
  }
}

/** The container (or other object) is gone: a normal event for a pipeline that follows containers. */
export class DockerNotFoundError extends ShiplogError {
  constructor(path: string, body: string) {
    super(ERROR_CODES.DOCKER_NOT_FOUND, `Docker API 404 for ${path}: ${body.trim().slice(0, 300)}`);
  }
}

/** A caller tried to send a request that is not a GET: the agent only ever reads from Docker. */
export class DockerReadOnlyError extends ShiplogError {
  constructor(method: string, path: string) {
    super(ERROR_CODES.DOCKER_READ_ONLY, `refusing ${method} ${path}: the shiplog Docker client is read-only (GET only)`);
  }
}

/** A log or event stream from Docker broke or carried bytes that do not parse. */
export class DockerStreamError extends ShiplogError {
  constructor(message: string, cause?: unknown) {
    super(ERROR_CODES.DOCKER_STREAM, message, { cause });
  }
}

export class KafkaError extends ShiplogError {
  constructor(message: string, cause?: unknown) {
    super(ERROR_CODES.KAFKA, cause === undefined ? message : `${message}: ${describe(cause)}`, { cause });
  }
}

export class CheckpointError extends ShiplogError {
  constructor(message: string, cause?: unknown) {
    super(ERROR_CODES.CHECKPOINT, cause === undefined ? message : `${message}: ${describe(cause)}`, { cause });
  }
}

export class RecordInvalidError extends ShiplogError {
  constructor(message: string) {
    super(ERROR_CODES.RECORD_INVALID, message);
  }
}

export function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

/** Whether err (or its cause) says the disk is full: the engine's NOT_ENOUGH_SPACE or the system's ENOSPC. */
export function isDiskFull(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC') return true;
    if (e instanceof Error && /NOT_ENOUGH_SPACE|ENOSPC|No space left on device/.test(e.message)) return true;
  }
  return false;
}

/**
 * Whether the filesystem holding `dir` (or its nearest existing parent) has less than 1 MiB
 * free: a full disk also shows as other errors (the engine reading back a table definition it
 * could not write says "Empty query").
 */
export function diskFullAt(dir: string): boolean {
  for (let d = resolve(dir); ; d = dirname(d)) {
    try {
      const s = statfsSync(d);
      return s.bavail * s.bsize < 1024 * 1024;
    } catch {
      if (d === dirname(d)) return false;
    }
  }
}

/** The one line for a start-up failure: what to do first when the disk under `dir` is full. */
export function startupFailure(err: unknown, dir: string): string {
  if (isDiskFull(err) || diskFullAt(dir)) return `the disk holding SHIPLOG_DATA_DIR (${dir}) is full: free some space there or point SHIPLOG_DATA_DIR elsewhere (${describe(err)})`;
  return describe(err);
}

/** An error and its causes, outermost first. */
export function* causes(err: unknown): Generator<Error> {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) yield e;
}
