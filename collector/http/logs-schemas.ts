/** The query schemas of /api/v1/logs (fastify validates with them; OpenAPI is made from them). */
import { filterProperties } from '../query/filters.js';

export const MAX_LIMIT = 10_000;

export const logsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...filterProperties,
    limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 100 },
    order: { type: 'string', enum: ['newest', 'oldest'], default: 'newest', description: 'newest (default) or oldest first' },
    cursor: { type: 'string', maxLength: 1024, pattern: '^[A-Za-z0-9_-]+$', description: 'next_cursor of the previous page: the lines after it, in the same order' },
  },
} as const;
