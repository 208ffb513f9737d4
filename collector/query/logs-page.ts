/**
 * One page of stored lines, newest or oldest first, with a cursor for the next page.
 *
 * Order is total: (Timestamp, ContainerId, KafkaTopic, KafkaPartition, KafkaOffset,
 * RecordLine). The last four name one line (a record's place in its partition and the line's
 * place in the record), so lines with equal timestamps — common when Docker reads many lines
 * in one go — keep a fixed order and a cursor after any of them neither skips nor repeats one.
 *
 * A page ends at `limit` lines or at the byte budget (the bodies' sum, counted by the engine
 * so a page of ten thousand 1 MiB lines is never built), whichever comes first; at least one
 * line is always returned, and `next` is set whenever more lines match.
 */
import { isUtf8 } from 'node:buffer';
import { rfc3339NanoSql } from '../store/schema.js';
import type { LogStore, QueryParams } from '../store/store.js';
import { BadParameter, logFilters, timeLimitSql, whereSql, type LogFilters } from './filters.js';

export type Order = 'newest' | 'oldest';

export interface PageRequest extends LogFilters {
  limit?: number;
  order?: Order;
  cursor?: string;
}

export interface PageLimits {
  /** Largest sum of line bytes in one page. */
  maxResultBytes: number;
  /** The engine stops a query after this long (max_execution_time). */
  queryTimeoutMs: number;
}

/** A line's place in the total order. */
export interface Position {
  tsNs: string;
  containerId: string;
  topic: string;
  partition: number;
  offset: string;
  line: number;
}

export function encodeCursor(p: Position): string {
  return Buffer.from(JSON.stringify([p.tsNs, p.containerId, p.topic, p.partition, p.offset, p.line])).toString('base64url');
}

export function decodeCursor(s: string): Position {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  } catch {
    v = undefined;
  }
  const bad = () => new BadParameter('cursor', 'is not a cursor this API returned (pass next_cursor from the previous page as it is)');
  if (!Array.isArray(v) || v.length !== 6) throw bad();
  const [tsNs, containerId, topic, partition, offset, line] = v as unknown[];
  // Numbers as this API writes them (no leading zeros), within the column types.
  if (typeof tsNs !== 'string' || !/^(0|[1-9]\d{0,18})$/.test(tsNs) || BigInt(tsNs) >= 2n ** 32n * 1_000_000_000n) throw bad();
  if (typeof containerId !== 'string' || !/^[0-9a-f]{0,64}$/.test(containerId)) throw bad();
  if (typeof topic !== 'string' || topic.length > 256) throw bad();
  if (typeof partition !== 'number' || !Number.isInteger(partition) || partition < 0 || partition > 0xffffffff) throw bad();
  if (typeof offset !== 'string' || !/^(0|[1-9]\d{0,19})$/.test(offset) || BigInt(offset) >= 2n ** 64n) throw bad();
  if (typeof line !== 'number' || !Number.isInteger(line) || line < 0 || line > 0xffffffff) throw bad();
  return { tsNs, containerId, topic, partition, offset, line };
}

/** The columns a line is answered with, plus its position. */
export const LINE_COLUMNS = `
      ${rfc3339NanoSql('Timestamp')} AS timestamp,
      toString(toUnixTimestamp64Nano(Timestamp)) AS ts_ns,
      HostName AS host, ContainerId AS container_id, ContainerName AS container_name, ResourceAttributes['container.image.name'] AS image,
      ServiceName AS service, Stream AS stream, lower(SeverityText) AS level, hex(Body) AS body_hex, LogAttributes AS attributes,
      KafkaTopic AS k_topic, KafkaPartition AS k_part, toString(KafkaOffset) AS k_off, RecordLine AS k_line`;

export interface LineRow {
  timestamp: string;
  ts_ns: string;
  host: string;
  container_id: string;
  container_name: string;
  image: string;
  service: string;
  stream: string;
  level: string;
  body_hex: string;
  attributes: Record<string, string>;
  k_topic: string;
  k_part: number;
  k_off: string;
  k_line: number;
}

export function positionOf(r: LineRow): Position {
  return { tsNs: r.ts_ns, containerId: r.container_id, topic: r.k_topic, partition: Number(r.k_part), offset: r.k_off, line: Number(r.k_line) };
}

/**
 * A stored line as the API returns it. `message` is text; a line whose bytes are not valid
 * UTF-8 (stored exactly, marked log.encoding=binary) shows U+FFFD there and carries its
 * original bytes in `message_base64`. `cursor` is the line's own place: passed as `cursor`, a
 * query answers the lines after it (order=oldest) or before it (order=newest), e.g. its context.
 */
export function toLine(r: LineRow) {
  const body = Buffer.from(r.body_hex, 'hex');
  const binary = !isUtf8(body);
  return {
    timestamp: r.timestamp,
    host: r.host,
    container_id: r.container_id,
    container_name: r.container_name,
    image: r.image,
    service: r.service,
    stream: r.stream,
    level: r.level,
    message: body.toString('utf8'),
    ...(binary ? { message_base64: body.toString('base64') } : {}),
    attributes: r.attributes,
    cursor: encodeCursor(positionOf(r)),
  };
}

const KEY = ['Timestamp', 'ContainerId', 'KafkaTopic', 'KafkaPartition', 'KafkaOffset', 'RecordLine'];
const KEY_ALIASES = ['ts_ns_key', 'container_id', 'k_topic', 'k_part', 'k_off_key', 'k_line'];

/** Lines strictly after `p` in the given order (and conditions the engine can prune with). */
export function afterCondition(p: Position, order: Order, params: QueryParams): string {
  params.c_ts = p.tsNs;
  params.c_id = p.containerId;
  params.c_topic = p.topic;
  params.c_part = p.partition;
  params.c_off = p.offset;
  params.c_line = p.line;
  const [cmp, cmpEq, secCmp] = order === 'newest' ? ['<', '<=', '<='] : ['>', '>=', '>='];
  return (
    `(${KEY.join(', ')}) ${cmp} (fromUnixTimestamp64Nano({c_ts:Int64}), {c_id:String}, {c_topic:String}, {c_part:UInt32}, {c_off:UInt64}, {c_line:UInt32})` +
    ` AND Timestamp ${cmpEq} fromUnixTimestamp64Nano({c_ts:Int64}) AND TimestampTime ${secCmp} toDateTime(intDiv({c_ts:Int64}, 1000000000))`
  );
}

export interface BuiltPage {
  sql: string;
  params: QueryParams;
  limit: number;
  /** Where the parts of split lines are read from (joinParts). */
  from: { db: string; table: string; queryTimeoutMs: number };
}

/** The page's SQL: the first `limit + 1` lines after the cursor, cut where the bodies pass the byte budget. */
export function buildPageQuery(db: string, table: string, req: PageRequest, limits: PageLimits, now = Date.now()): BuiltPage {
  const where = logFilters(req, now);
  const order: Order = req.order ?? 'newest';
  if (req.cursor) where.conditions.push(afterCondition(decodeCursor(req.cursor), order, where.params));
  const limit = req.limit ?? 100;
  const dir = order === 'newest' ? 'DESC' : 'ASC';
  const orderBy = KEY_ALIASES.map((k) => `${k} ${dir}`).join(', ');
  where.params.fetch = limit + 1;
  where.params.budget = limits.maxResultBytes;
  const sql = `SELECT * EXCEPT (ts_ns_key, k_off_key, len, cum) FROM (
    SELECT *, sum(len) OVER (ORDER BY ${orderBy} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum, count() OVER () AS candidates
    FROM (
      SELECT ${LINE_COLUMNS}, Timestamp AS ts_ns_key, KafkaOffset AS k_off_key, length(Body) AS len
      FROM ${db}.${table}
      ${whereSql(where.conditions)}
      ORDER BY ${orderBy}
      LIMIT {fetch:UInt32}
    )
  )
  WHERE cum - len < {budget:UInt64}
  ORDER BY ${orderBy}
  ${timeLimitSql(limits.queryTimeoutMs)}`;
  return { sql, params: where.params, limit, from: { db, table, queryTimeoutMs: limits.queryTimeoutMs } };
}

export interface Page {
  rows: LineRow[];
  /** Cursor for the page after this one; undefined when no more lines match. */
  next?: string;
}

/**
 * A page of lines. A line longer than SHIPLOG_MAX_LINE_BYTES was stored as parts (the agent
 * marks `log.split` on each part that more follow, `log.continued` on each that continues one):
 * it is answered as one line, at its first part's place, with its parts' bytes joined — in
 * either order and whichever page its parts fall on (a continuing part alone is never answered).
 * The cursor still follows the stored rows, so paging neither skips nor repeats.
 */
export async function readPage(store: LogStore, built: BuiltPage): Promise<Page> {
  const got = await store.query<LineRow & { candidates: number | string }>(built.sql, built.params);
  const candidates = Number(got[0]?.candidates ?? 0);
  const stored = got.slice(0, built.limit);
  const more = candidates > stored.length;
  const last = stored[stored.length - 1];
  const rows: LineRow[] = [];
  for (const r of stored) {
    if (r.attributes['log.continued'] === 'true') continue;
    rows.push(r.attributes['log.split'] === 'true' ? await joinParts(store, built.from, r) : r);
  }
  return { rows, next: more && last ? encodeCursor(positionOf(last)) : undefined };
}

/** Parts of one line read at most (each up to SHIPLOG_MAX_LINE_BYTES): 64 × 2 MiB. */
const MAX_PARTS = 64;
/**
 * A part follows the one before within this many seconds (Docker stamps the pieces of one
 * line as it reads them): the bound, with the sort key's service and name, keeps the lookup to
 * a few granules instead of everything stored after the line.
 */
const PARTS_WITHIN_S = 3600;

/**
 * The first part of a split line with the parts that continue it: the next rows of its
 * container and stream. A line whose last part is not stored yet keeps `log.split` (the live
 * tail waits for it).
 */
async function joinParts(store: LogStore, from: BuiltPage['from'], first: LineRow): Promise<LineRow> {
  const hex = [first.body_hex];
  let at = first;
  let ended = false;
  for (let parts = 1; parts < MAX_PARTS && !ended; ) {
    const p = positionOf(at);
    const next = await store.query<LineRow>(
      `SELECT ${LINE_COLUMNS} FROM ${from.db}.${from.table}
       WHERE ServiceName = {j_svc:String} AND ContainerName = {j_name:String} AND ContainerId = {j_id:String} AND Stream = {j_stream:String}
         AND (${KEY.slice(0, 1).concat(KEY.slice(2)).join(', ')}) > (fromUnixTimestamp64Nano({j_ts:Int64}), {j_topic:String}, {j_part:UInt32}, {j_off:UInt64}, {j_line:UInt32})
         AND Timestamp >= fromUnixTimestamp64Nano({j_ts:Int64})
         AND TimestampTime BETWEEN toDateTime(intDiv({j_ts:Int64}, 1000000000)) AND toDateTime(intDiv({j_ts:Int64}, 1000000000)) + ${PARTS_WITHIN_S}
       ORDER BY Timestamp, KafkaTopic, KafkaPartition, KafkaOffset, RecordLine
       LIMIT {j_n:UInt32} ${timeLimitSql(from.queryTimeoutMs)}`,
      { j_svc: first.service, j_name: first.container_name, j_id: p.containerId, j_stream: first.stream, j_ts: p.tsNs, j_topic: p.topic, j_part: p.partition, j_off: p.offset, j_line: p.line, j_n: 8 },
    );
    if (next.length === 0) break;
    for (const r of next) {
      // Not a continuation: the chain ended without its last part (the agent restarted mid-line).
      if (r.attributes['log.continued'] !== 'true') {
        ended = true;
        break;
      }
      hex.push(r.body_hex);
      at = r;
      parts++;
      if (r.attributes['log.split'] !== 'true' || parts >= MAX_PARTS) {
        ended = true;
        break;
      }
    }
  }
  const { 'log.split': _split, ...attributes } = first.attributes;
  return { ...first, body_hex: hex.join(''), attributes: ended ? { ...attributes, 'log.parts': String(hex.length) } : first.attributes };
}
