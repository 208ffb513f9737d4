/** The OpenAPI document, made from the same schemas the routes validate with. */
import { containersQuerySchema } from '../query/containers.js';
import { histogramQuerySchema } from '../query/histogram.js';
import { logsQuerySchema, MAX_LIMIT } from './logs-schemas.js';

const params = (props: object, skip: string[] = []) =>
  Object.entries(props)
    .filter(([n]) => !skip.includes(n))
    .map(([name, schema]) => ({ name, in: 'query', required: false, schema }));

const BAD = { '400': { description: 'A bad parameter, named in the answer: { error: "bad_parameter", parameter, message }' } };
const TIMEOUT = { '503': { description: 'The query ran longer than SHIPLOG_API_QUERY_TIMEOUT: { error: "query_timeout", message }' } };

/** The OpenAPI document, made from the same schemas the routes validate with. */
export function openApi(): object {
  return {
    openapi: '3.1.0',
    info: { title: 'shiplog', version: '0.1.0' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Only when SHIPLOG_API_TOKEN is set' } } },
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
            '200': { description: '{ "data": [ { timestamp, host, container_id, container_name, image, service, stream, level, message, attributes } ], "next_cursor": string | null }' },
            ...BAD,
            ...TIMEOUT,
          },
        },
      },
      '/api/v1/logs/tail': {
        get: {
          summary: 'Live tail as Server-Sent Events: the newest `backlog` lines, then new lines as they are stored',
          parameters: [...params(logsQuerySchema.properties, ['limit', 'order', 'cursor']), { name: 'backlog', in: 'query', required: false, schema: { type: 'integer', minimum: 0, maximum: MAX_LIMIT, default: 10 } }],
          responses: { '200': { description: 'text/event-stream; each `data:` event is one line as in /api/v1/logs' }, ...BAD },
        },
      },
      '/api/v1/logs/histogram': {
        get: {
          summary: 'Lines per interval and level, with the filters of /api/v1/logs (since defaults to 1h)',
          parameters: params(histogramQuerySchema.properties),
          responses: { '200': { description: '{ interval_seconds, from, to, buckets: [ { time, total, levels: { error: n, … } } ] }' }, ...BAD, ...TIMEOUT },
        },
      },
      '/api/v1/containers': {
        get: {
          summary: 'Containers seen in the window (default 24h): host, image, state, last seen, log volume',
          parameters: params(containersQuerySchema.properties),
          responses: {
            '200': { description: '{ data: [ { host, id, name, image, service, state, exit_code?, health?, last_seen, last_log?, log_lines, log_bytes } ] }' },
            ...BAD,
            ...TIMEOUT,
          },
        },
      },
    },
    security: [{ bearer: [] }],
  };
}
