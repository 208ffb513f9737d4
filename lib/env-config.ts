/**
 * Small helpers for reading settings from the environment. Every reader records a problem
 * instead of throwing, so a component validates all of its settings in one pass and start-up
 * fails once, naming every bad setting.
 */
import { ConfigError } from './errors.js';

export type Env = Record<string, string | undefined>;

export class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  string(name: string, def: string): string {
    return this.raw(name) ?? def;
  }

  optionalString(name: string): string | undefined {
    return this.raw(name);
  }

  int(name: string, def: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return def;
    if (!/^-?\d+$/.test(v)) {
      this.problems.push(`${name}: "${v}" is not a whole number (allowed ${min}..${max})`);
      return def;
    }
    const n = Number(v);
    if (n < min || n > max) {
      this.problems.push(`${name}: ${n} is out of range (allowed ${min}..${max})`);
      return def;
    }
    return n;
  }

  /** Sizes such as 1048576, 512KiB, 16MiB, 1MB. */
  bytes(name: string, def: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return def;
    const m = /^(\d+)\s*(b|kb|kib|k|mb|mib|m|gb|gib|g)?$/i.exec(v);
    if (!m) {
      this.problems.push(`${name}: "${v}" is not a size (e.g. 1048576, 512KiB, 16MiB)`);
      return def;
    }
    const unit = (m[2] ?? 'b').toLowerCase();
    const mult = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 ** 2 : unit.startsWith('g') ? 1024 ** 3 : 1;
    const n = Number(m[1]) * mult;
    if (n < min || n > max) {
      this.problems.push(`${name}: ${v} is out of range (allowed ${min}..${max} bytes)`);
      return def;
    }
    return n;
  }

  /** Durations such as 500ms, 10s, 5m, 1h; a bare number is milliseconds. */
  durationMs(name: string, def: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return def;
    const n = parseDurationMs(v);
    if (n === undefined) {
      this.problems.push(`${name}: "${v}" is not a duration (e.g. 500ms, 10s, 5m)`);
      return def;
    }
    if (n < min || n > max) {
      this.problems.push(`${name}: ${v} is out of range (allowed ${min}ms..${max}ms)`);
      return def;
    }
    return n;
  }

  bool(name: string, def: boolean): boolean {
    const v = this.raw(name);
    if (v === undefined) return def;
    const l = v.toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(l)) return true;
    if (['0', 'false', 'no', 'off'].includes(l)) return false;
    this.problems.push(`${name}: "${v}" is not a boolean (allowed true, false)`);
    return def;
  }

  oneOf<T extends string>(name: string, def: T, allowed: readonly T[]): T {
    const v = this.raw(name);
    if (v === undefined) return def;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    this.problems.push(`${name}: "${v}" is not allowed (allowed: ${allowed.join(', ')})`);
    return def;
  }

  list(name: string, def: string[] = []): string[] {
    const v = this.raw(name);
    if (v === undefined) return def;
    return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  }

  problem(message: string): void {
    this.problems.push(message);
  }

  /** Throws one ConfigError naming every problem found so far. */
  done(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }
}

export function parseDurationMs(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  switch (m[2]) {
    case 's': return n * 1000;
    case 'm': return n * 60_000;
    case 'h': return n * 3_600_000;
    case 'd': return n * 86_400_000;
    default: return n;
  }
}

/** host:port list, as SHIPLOG_KAFKA_BROKERS takes it. */
export function checkHostPortList(r: EnvReader, name: string, list: string[]): void {
  for (const item of list) {
    const m = /^([A-Za-z0-9._-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(item);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) r.problem(`${name}: "${item}" is not host:port`);
  }
}
