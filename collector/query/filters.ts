/**
 * The filters every log query shares (/api/v1/logs, its tail and its histogram), from query
 * parameters to a WHERE clause. Values reach the database only as bound parameters
 * ({name:Type}); the SQL text is made from constants.
 */
import { RE2JS } from 're2js';
import { parseDurationMs } from '../../lib/env-config.js';
import { ERROR_CODES, ShiplogError } from '../../lib/errors.js';
import type { QueryParams } from '../store/store.js';

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

/** RFC 3339 (with a zone) or a duration such as 15m: the form `since` and `until` take. */
export const TIME_PATTERN = '^([0-9]{1,15}(\\.[0-9]{1,9})?(ms|s|m|h|d)?|[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2}))$';

/** What a parameter with a pattern should look like, for the 400's message. */
export const PATTERN_HINTS: Record<string, string> = {
  since: 'an RFC 3339 time (2026-11-23T16:00:00Z) or a duration before now (15m)',
  until: 'an RFC 3339 time (2026-11-23T16:00:00Z) or a duration before now (15m)',
  interval: 'a duration in whole seconds (10s, 1m, 1h)',
  cursor: 'the next_cursor of a page this API returned',
};

/** JSON schema of the filter parameters (fastify validates; OpenAPI is made from it). */
export const filterProperties = {
  container: { type: 'string', maxLength: 1024, description: 'Container name, exact or a glob with * and ?; several separated by commas (web,db-*)' },
  host: { type: 'string', maxLength: 256 },
  service: { type: 'string', maxLength: 256, description: 'Compose/swarm service (or the container name when it has none)' },
  label: { type: 'string', maxLength: 1024, description: 'A container label: key=value, or key alone for any value (com.docker.compose.project=shop)' },
  stream: { type: 'string', enum: ['stdout', 'stderr'] },
  level: { type: 'string', enum: [...LEVELS], description: 'Lines of exactly this level' },
  min_level: { type: 'string', enum: [...LEVELS], description: 'Lines of this level or worse (warn: warn, error and fatal)' },
  q: { type: 'string', maxLength: 1024, description: 'Text the line contains (case-sensitive)' },
  regex: { type: 'boolean', default: false, description: 'Treat q as an RE2 regular expression' },
  words: { type: 'boolean', default: false, description: 'Match the words of q as whole words, in any order, ignoring ASCII case (fast: read through the token index). A word is a run of ASCII letters and digits or of non-ASCII characters; other characters separate words' },
  since: { type: 'string', maxLength: 64, pattern: TIME_PATTERN, description: 'RFC 3339 time (1970 to 2106) or a duration before now (15m, 2h, 7d)' },
  until: { type: 'string', maxLength: 64, pattern: TIME_PATTERN, description: 'RFC 3339 time (1970 to 2106) or a duration before now; later than since' },
} as const;

export interface LogFilters {
  container?: string;
  host?: string;
  service?: string;
  label?: string;
  stream?: 'stdout' | 'stderr';
  level?: (typeof LEVELS)[number];
  min_level?: (typeof LEVELS)[number];
  q?: string;
  regex?: boolean;
  words?: boolean;
  since?: string;
  until?: string;
}

/** A query parameter the caller got wrong; answered with a 400 naming it. */
export class BadParameter extends ShiplogError {
  constructor(readonly parameter: string, message: string) {
    super(ERROR_CODES.BAD_PARAMETER, `${parameter}: ${message}`);
  }
}

/** Stored times run from the epoch to 2106-02-07 (the tables key on a DateTime): outside it a filter can only mislead. */
const STORABLE_END_NS = 2n ** 32n * 1_000_000_000n;

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** RFC 3339 (a real calendar time) or a duration before `now`, to epoch nanoseconds within what the store holds. */
function timeParam(name: string, v: string, now: number): bigint {
  const outside = () => new BadParameter(name, `"${v}" is outside the stored time range (1970-01-01 to 2106-02-07)`);
  const d = parseDurationMs(v);
  if (d !== undefined) {
    if (!Number.isFinite(d) || d > now) throw outside();
    return BigInt(Math.round(now - d)) * 1_000_000n;
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-](\d{2}):(\d{2}))$/i.exec(v);
  const bad = () => new BadParameter(name, `"${v.slice(0, 64)}" is neither an RFC 3339 time (2026-11-23T16:00:00Z) nor a duration (15m)`);
  if (!m) throw bad();
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const monthDays = month === 2 && !leap ? 28 : (DAYS_IN_MONTH[month - 1] ?? 0);
  if (month < 1 || month > 12 || day < 1 || day > monthDays || hour > 23 || minute > 59 || second > 59) throw bad();
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) throw bad();
  const ms = Date.parse(`${m.slice(1, 4).join('-')}T${m.slice(4, 7).join(':')}${m[8]?.toUpperCase()}`);
  if (Number.isNaN(ms)) throw bad();
  const ns = BigInt(ms) * 1_000_000n + BigInt((m[7] ?? '').padEnd(9, '0') || '0');
  // "Until 2999" bounds nothing: every stored time is before it.
  if (name === 'until' && ns >= STORABLE_END_NS) return STORABLE_END_NS - 1n;
  if (ns < 0n || ns >= STORABLE_END_NS) throw outside();
  return ns;
}

function globToRe2(glob: string): string {
  let re = '^';
  for (const ch of glob) re += ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  return `${re}$`;
}

/** Container name condition on column `col`: names and globs separated by commas (Docker's names hold no comma). */
function containerCondition(col: string, names: string, params: QueryParams): string {
  const list = names.split(',').filter((n) => n !== '');
  const exact = list.filter((n) => !/[*?]/.test(n));
  const globs = list.filter((n) => /[*?]/.test(n));
  const any: string[] = [];
  if (exact.length) {
    params.containers = exact;
    any.push(`has({containers:Array(String)}, ${col})`);
  }
  if (globs.length) {
    params.container_re = globs.map((g) => `(?:${globToRe2(g)})`).join('|');
    any.push(`match(${col}, {container_re:String})`);
  }
  return any.length ? `(${any.join(' OR ')})` : '1';
}

/** OTel severity numbers: each level spans four, from TRACE 1-4 to FATAL 21-24. */
function severityFloor(level: (typeof LEVELS)[number]): number {
  return LEVELS.indexOf(level) * 4 + 1;
}

/** Conditions on Timestamp/TimestampTime from epoch nanoseconds (TimestampTime lets partitions prune). */
function timeConditions(since: bigint | undefined, until: bigint | undefined, params: QueryParams): string[] {
  const out: string[] = [];
  if (since !== undefined) {
    out.push('Timestamp >= fromUnixTimestamp64Nano({since:Int64}) AND TimestampTime >= toDateTime(intDiv({since:Int64}, 1000000000))');
    params.since = since.toString();
  }
  if (until !== undefined) {
    out.push('Timestamp < fromUnixTimestamp64Nano({until:Int64}) AND TimestampTime <= toDateTime(intDiv({until:Int64}, 1000000000))');
    params.until = until.toString();
  }
  return out;
}

export interface Where {
  conditions: string[];
  params: QueryParams;
  since?: bigint;
  until?: bigint;
}

/** The conditions and their parameters for the logs table. */
export function logFilters(f: LogFilters, now = Date.now()): Where {
  const conditions: string[] = [];
  const params: QueryParams = {};
  if (f.container) conditions.push(containerCondition('ContainerName', f.container, params));
  if (f.host) {
    conditions.push('HostName = {host:String}');
    params.host = f.host;
  }
  if (f.service) {
    conditions.push('ServiceName = {service:String}');
    params.service = f.service;
  }
  if (f.label) {
    const eq = f.label.indexOf('=');
    const key = eq >= 0 ? f.label.slice(0, eq) : f.label;
    if (!key) throw new BadParameter('label', 'takes key=value or key');
    params.label_key = `container.label.${key}`;
    if (eq >= 0) {
      conditions.push('ResourceAttributes[{label_key:String}] = {label_value:String}');
      params.label_value = f.label.slice(eq + 1);
    } else conditions.push('mapContains(ResourceAttributes, {label_key:String})');
  }
  if (f.stream) {
    conditions.push('Stream = {stream:String}');
    params.stream = f.stream;
  }
  if (f.level) {
    conditions.push('SeverityText = {level:String}');
    params.level = f.level.toUpperCase();
  }
  if (f.min_level) {
    conditions.push('SeverityNumber >= {min_severity:UInt8}');
    params.min_severity = severityFloor(f.min_level);
  }
  if (f.words && f.regex) throw new BadParameter('words', 'and regex cannot be used together');
  if (f.q !== undefined && f.q !== '') {
    if (f.words) {
      const words = wordsOf(f.q);
      if (words.length === 0) throw new BadParameter('q', 'has no word to search for (letters, digits or non-ASCII characters)');
      if (words.length > MAX_WORDS) throw new BadParameter('q', `has ${words.length} words; a word search takes at most ${MAX_WORDS}`);
      words.forEach((w, i) => {
        conditions.push(`hasToken(lower(Body), {w${i}:String})`);
        params[`w${i}`] = w;
      });
    } else if (f.regex) {
      // The engine's RE2 would refuse it only when a row is read, as an internal error.
      try {
        RE2JS.compile(f.q);
      } catch (err) {
        throw new BadParameter('q', `is not a regular expression RE2 accepts: ${(err as Error).message}`);
      }
      conditions.push('match(Body, {q:String})');
      params.q = f.q;
    } else {
      // LIKE with the pattern's own wildcards escaped: the token index can still prune.
      conditions.push('Body LIKE {q:String}');
      params.q = `%${f.q.replace(/[\\%_]/g, '\\$&')}%`;
    }
  }
  const since = f.since !== undefined ? timeParam('since', f.since, now) : undefined;
  const until = f.until !== undefined ? timeParam('until', f.until, now) : undefined;
  if (since !== undefined && until !== undefined && until <= since) throw new BadParameter('until', 'must be later than since');
  conditions.push(...timeConditions(since, until, params));
  return { conditions, params, since, until };
}

const MAX_WORDS = 16;

/**
 * The words of a word search, as the engine's token index splits text: runs of ASCII letters and
 * digits or of non-ASCII characters; ASCII lowered as the engine's lower() does (it leaves the
 * rest alone). Each word once.
 */
export function wordsOf(q: string): string[] {
  const out = new Set<string>();
  for (const w of q.split(/[^0-9A-Za-z\u0080-\uffff]+/)) if (w) out.add(w.replace(/[A-Z]+/g, (m) => m.toLowerCase()));
  return [...out];
}

/** The SETTINGS clause that has the engine stop a query after `ms` (answered as a 503 by the routes). */
export function timeLimitSql(ms: number): string {
  return `SETTINGS max_execution_time = ${(ms / 1000).toFixed(3)}`;
}

export function whereSql(conditions: string[]): string {
  return conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
}
