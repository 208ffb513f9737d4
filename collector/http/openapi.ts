/**
 * The OpenAPI document, made from the same schemas the routes validate with, with a schema
 * for every answer (success and error), so a property-based run (schemathesis, in the tests)
 * can check what the server says against what it promises.
 */
import { containerEventsQuerySchema, containerIdParams, containerStatsQuerySchema } from '../query/container-detail.js';
import { containersQuerySchema } from '../query/containers.js';
import { histogramQuerySchema } from '../query/histogram.js';
import { deadLetterSchema, deadLettersQuerySchema } from './dead-letters-route.js';
import { logsQuerySchema } from './logs-schemas.js';
import { MAX_HEADER_BYTES } from './client-errors.js';
import { tailQuerySchema } from './tail-route.js';

const params = (props: object) => Object.entries(props).map(([name, schema]) => ({ name, in: 'query', required: false, schema }));

const json = (schema: object, description: string) => ({ description, content: { 'application/json': { schema } } });

const str = { type: 'string' } as const;
const int = { type: 'integer', minimum: 0 } as const;

const errorBody = (codes: string[]) => ({
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string', enum: codes }, message: str, parameter: str, setting: str, id: str },
});

const ERRORS = {
  '400': json(errorBody(['bad_parameter', 'bad_request']), 'A bad parameter, named in `parameter`'),
  '401': json(errorBody(['unauthorized']), 'SHIPLOG_API_TOKEN is set and the request has no valid bearer token'),
  '408': json(errorBody(['request_timeout']), 'The request line and headers did not arrive whole within 30 s'),
  '429': {
    ...json(errorBody(['too_many_requests']), 'The API is at a limit (`setting` names it); retry after Retry-After seconds'),
    headers: { 'Retry-After': { schema: { type: 'string', pattern: '^[0-9]+$' } } },
  },
  '431': json(errorBody(['request_too_large']), `The request line and headers exceed ${MAX_HEADER_BYTES / 1024} KiB (every request within the parameters' maxLength fits)`),
  '500': json(errorBody(['internal']), 'The request failed; the server log has the details under `id`'),
};
const TIMEOUT = { '503': json(errorBody(['query_timeout']), 'The query ran longer than SHIPLOG_API_QUERY_TIMEOUT') };

const num = { type: 'number', minimum: 0 } as const;
const containerStatsSchema = {
  type: 'object',
  required: ['id', 'step_seconds', 'from', 'to', 'buckets'],
  properties: {
    id: str,
    step_seconds: int,
    from: str,
    to: str,
    buckets: {
      type: 'array',
      items: { type: 'object', required: ['time'], properties: { time: str, cpu_cores: num, memory_bytes: num, memory_max_bytes: num, memory_limit_bytes: num } },
    },
  },
};
const containerEventSchema = {
  type: 'object',
  required: ['time', 'host', 'name', 'action'],
  properties: { time: str, host: str, name: str, action: str, exit_code: { type: 'integer' }, health: str, old_name: str },
};

const lineSchema = {
  type: 'object',
  required: ['timestamp', 'host', 'container_id', 'container_name', 'image', 'service', 'stream', 'level', 'message', 'attributes'],
  properties: {
    timestamp: { type: 'string', description: 'RFC 3339 with nanoseconds, UTC, as Docker gave it', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{9}Z$' },
    host: str,
    container_id: str,
    container_name: str,
    image: str,
    service: str,
    stream: str,
    level: str,
    message: { type: 'string', description: 'The line without its trailing newline' },
    message_base64: { type: 'string', description: 'The original bytes, base64, when they are not valid UTF-8 (message then shows U+FFFD)' },
    attributes: { type: 'object', additionalProperties: str },
    cursor: { type: 'string', description: "The line's place: as `cursor`, the lines after it (order=oldest) or before it (order=newest)" },
  },
};

const containerSchema = {
  type: 'object',
  required: ['host', 'id', 'name', 'image', 'service', 'state', 'restarts', 'last_seen', 'log_lines', 'log_bytes'],
  properties: {
    host: str,
    id: str,
    name: str,
    image: str,
    service: str,
    state: { type: 'string', enum: ['running', 'paused', 'exited', 'created', 'removed', 'unknown'] },
    exit_code: { type: 'integer' },
    health: str,
    restarts: { type: 'integer', minimum: 0, description: 'Starts seen in the window after its first one' },
    last_seen: str,
    last_log: str,
    log_lines: int,
    log_bytes: int,
  },
};

const histogramSchema = {
  type: 'object',
  required: ['interval_seconds', 'from', 'to', 'buckets'],
  properties: {
    interval_seconds: { type: 'integer', minimum: 1 },
    from: str,
    to: str,
    buckets: {
      type: 'array',
      items: { type: 'object', required: ['time', 'total', 'levels'], properties: { time: str, total: int, levels: { type: 'object', additionalProperties: int } } },
    },
  },
};

/** The document as this server runs: `security` is declared only when SHIPLOG_API_TOKEN is set. */
export function openApi(tokenRequired: boolean): object {
  return {
    openapi: '3.1.0',
    info: { title: 'shiplog', version: '0.1.0' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'SHIPLOG_API_TOKEN' } } },
    paths: {
      '/api/v1/logs': {
        get: {
          summary: 'Stored log lines, newest (or oldest) first, a page at a time',
          description:
            'A page holds at most `limit` lines and at most SHIPLOG_API_MAX_RESULT_BYTES of line text (at least one line). ' +
            '`next_cursor` is set while more lines match: pass it as `cursor` with the same filters for the next page. ' +
            'Lines with equal timestamps keep a fixed order, so paging neither skips nor repeats one.',
          parameters: params(logsQuerySchema.properties),
          responses: {
            '200': json({ type: 'object', required: ['data', 'next_cursor'], properties: { data: { type: 'array', items: lineSchema }, next_cursor: { type: ['string', 'null'] } } }, 'A page of lines'),
            ...ERRORS,
            ...TIMEOUT,
          },
        },
      },
      '/api/v1/logs/tail': {
        get: {
          summary: 'Live tail as Server-Sent Events: the newest `backlog` lines, then new lines as they are stored',
          description:
            'Events: `message` (a line as in /api/v1/logs), `error` (reading failed; the server retries), `end` ({ reason: slow_reader | shutdown, message }: the server closed the stream). ' +
            'Past SHIPLOG_API_MAX_TAIL_CLIENTS streams: 429.',
          parameters: params(tailQuerySchema.properties),
          responses: { '200': { description: 'The event stream', content: { 'text/event-stream': { schema: str } } }, ...ERRORS },
        },
      },
      '/api/v1/logs/histogram': {
        get: {
          summary: 'Lines per interval and level, with the filters of /api/v1/logs (since defaults to 1h)',
          parameters: params(histogramQuerySchema.properties),
          responses: { '200': json(histogramSchema, 'Buckets from `from` to `to`, zero-filled'), ...ERRORS, ...TIMEOUT },
        },
      },
      '/api/v1/containers': {
        get: {
          summary: 'Containers seen in the window (default 24h): host, image, state, last seen, log volume',
          parameters: params(containersQuerySchema.properties),
          responses: { '200': json({ type: 'object', required: ['data'], properties: { data: { type: 'array', items: containerSchema } } }, 'The containers'), ...ERRORS, ...TIMEOUT },
        },
      },
      '/api/v1/containers/{id}/stats': {
        get: {
          summary: "One container's CPU (cores) and memory (working set, average and peak) per bucket, from its stored stats samples; since defaults to 1h",
          parameters: [{ name: 'id', in: 'path', required: true, schema: containerIdParams.properties.id }, ...params(containerStatsQuerySchema.properties)],
          responses: { '200': json(containerStatsSchema, 'Buckets from `from` to `to`; a bucket without samples has only `time`'), ...ERRORS, ...TIMEOUT },
        },
      },
      '/api/v1/containers/{id}/events': {
        get: {
          summary: "One container's lifecycle events (create, start, die with its exit code, health_status, rename, destroy…), oldest first; since defaults to 7d",
          parameters: [{ name: 'id', in: 'path', required: true, schema: containerIdParams.properties.id }, ...params(containerEventsQuerySchema.properties)],
          responses: { '200': json({ type: 'object', required: ['data'], properties: { data: { type: 'array', items: containerEventSchema } } }, 'The events'), ...ERRORS, ...TIMEOUT },
        },
      },
      '/api/v1/dead-letters': {
        get: {
          summary: 'What shiplog up could not store (refused by the encoder or the store), newest first, with the reason (Kafka mode: the <prefix>.dlq topic)',
          parameters: params(deadLettersQuerySchema.properties),
          responses: { '200': json({ type: 'object', required: ['data'], properties: { data: { type: 'array', items: deadLetterSchema } } }, 'The dead letters'), ...ERRORS, ...TIMEOUT },
        },
      },
    },
    security: tokenRequired ? [{ bearer: [] }] : [],
  };
}
