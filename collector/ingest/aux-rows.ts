/** TabSeparated rows for container_stats and container_events (columns as in schema.ts). */
import type { EventRecord, StatsRecord } from '../../lib/records.js';
import { epochSecondsText, mapLiteral, tsvEscape, type KafkaCoords } from './encode-rows.js';

export type { EventRecord, StatsRecord };

/** RFC 3339 to "seconds.nanoseconds" for DateTime64(9). */
export function rfc3339ToEpoch(ts: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(ts);
  if (!m) throw new Error(`bad timestamp ${ts}`);
  return `${epochSecondsText(Math.floor(Date.parse(`${m[1]}${m[3]}`) / 1000))}.${(m[2] ?? '').padEnd(9, '0')}`;
}

const n = (v: number | undefined) => String(Math.max(0, Math.trunc(v ?? 0)));

export function statsRow(r: StatsRecord, at: KafkaCoords): string {
  const c = r.container;
  return [
    rfc3339ToEpoch(r.ts), tsvEscape(r.host), c.id, tsvEscape(c.name), tsvEscape(c.image), mapLiteral(Object.entries(c.labels)), tsvEscape(c.started_at ?? ''),
    n(r.cpu.total_ns), n(r.cpu.user_ns), n(r.cpu.system_ns), n(r.cpu.periods), n(r.cpu.throttled_periods), n(r.cpu.throttled_ns),
    n(r.memory.usage), n(r.memory.working_set), n(r.memory.rss), n(r.memory.cache), n(r.memory.limit), n(r.blkio.read_bytes), n(r.blkio.write_bytes), n(r.pids),
    tsvEscape(JSON.stringify(r.networks)), tsvEscape(at.topic), String(at.partition), at.offset,
  ].join('\t') + '\n';
}

export function eventRow(r: EventRecord, at: KafkaCoords): string {
  const c = r.container;
  const ns = BigInt(r.time_nano);
  const epoch = `${epochSecondsText(Number(ns / 1_000_000_000n))}.${String(ns % 1_000_000_000n).padStart(9, '0')}`;
  return [
    epoch, tsvEscape(r.host), c.id, tsvEscape(c.name), tsvEscape(c.image), tsvEscape(r.action), String(r.exit_code ?? -1), tsvEscape(r.health ?? ''), tsvEscape(r.old_name ?? ''),
    mapLiteral(Object.entries(r.attributes)), tsvEscape(at.topic), String(at.partition), at.offset,
  ].join('\t') + '\n';
}
