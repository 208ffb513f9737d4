/** How the query routes answer what went wrong: a 400 naming the parameter, a 503 naming the time limit. */
import type { FastifyReply } from 'fastify';
import { BadParameter } from '../query/filters.js';
import type { PageLimits } from '../query/logs-page.js';

/** Answers a BadParameter with a 400 naming it, and an engine timeout with a 503 naming the setting. */
export async function answering<T>(reply: FastifyReply, limits: PageLimits, work: () => Promise<T>): Promise<T | FastifyReply> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof BadParameter) return reply.code(400).send({ error: 'bad_parameter', parameter: err.parameter, message: err.message });
    if (/TIMEOUT_EXCEEDED|Timeout exceeded/.test((err as Error).message)) {
      return reply.code(503).send({
        error: 'query_timeout',
        message: `the query ran longer than ${limits.queryTimeoutMs / 1000} s (SHIPLOG_API_QUERY_TIMEOUT); narrow it with since/until, container or host`,
      });
    }
    throw err;
  }
}

