/** What the HTTP API takes at most, with the defaults the settings start from. */
import type { PageLimits } from '../query/logs-page.js';

/** What the API takes at most: page size and query time, concurrent queries, live tails and their buffers. */
export interface ApiLimits extends PageLimits {
  /** Store queries at once from the API (SHIPLOG_API_MAX_QUERIES); more wait briefly, then 429. */
  maxQueries: number;
  /** Live tail streams at once (SHIPLOG_API_MAX_TAIL_CLIENTS); more get 429. */
  maxTailClients: number;
  /** Bytes that may wait in one tail client's socket before its stream is ended (SHIPLOG_API_TAIL_BUFFER). */
  tailBufferBytes: number;
}

export const DEFAULT_LIMITS: ApiLimits = { maxResultBytes: 16 * 1024 ** 2, queryTimeoutMs: 10_000, maxQueries: 4, maxTailClients: 100, tailBufferBytes: 1024 ** 2 };
