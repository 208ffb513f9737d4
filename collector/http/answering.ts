/**
 * How the query routes answer what went wrong: a 400 naming the parameter, a 429 with
 * Retry-After when the API is at its limits, a 503 naming the time limit. Anything else is
 * thrown on to the app's error handler, which answers 500 with an id and logs the details.
 */
import type { FastifyReply } from 'fastify';
import { BadParameter } from '../query/filters.js';
import type { PageLimits } from '../query/logs-page.js';
import { StorageError } from '../store/store.js';
import { Busy } from './query-limiter.js';

export function tooBusy(reply: FastifyReply, setting: string, message: string): FastifyReply {
  return reply.code(429).header('retry-after', '1').send({ error: 'too_many_requests', setting, message });
}

export async function answering<T>(reply: FastifyReply, limits: PageLimits, work: () => Promise<T>): Promise<T | FastifyReply> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof BadParameter) return reply.code(400).send({ error: 'bad_parameter', parameter: err.parameter, message: err.message });
    if (err instanceof Busy) return tooBusy(reply, err.setting, err.message);
    if (err instanceof StorageError && err.failure === 'timeout') {
      return reply.code(503).send({
        error: 'query_timeout',
        message: `the query ran longer than ${limits.queryTimeoutMs / 1000} s (SHIPLOG_API_QUERY_TIMEOUT); narrow it with since/until, container or host`,
      });
    }
    throw err;
  }
}
