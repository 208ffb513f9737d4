/**
 * The settings `shiplog agent | collector | up` read, for --help, and to refuse a flag or a
 * SHIPLOG_* variable that no part of shiplog reads (a misspelt one would otherwise be ignored
 * silently: `up --htp-port 31893` started on 9880).
 */
import { AGENT_SETTINGS } from '../agent/config.js';
import { COLLECTOR_SETTINGS } from '../collector/config.js';
import type { Env } from '../lib/env-config.js';

export interface Setting {
  name: string;
  default: string;
  help: string;
}

/** Per command, first definition wins (up reads both sets). */
export function settingsOf(cmd: 'agent' | 'collector' | 'up'): Setting[] {
  const lists = cmd === 'agent' ? [AGENT_SETTINGS] : cmd === 'collector' ? [COLLECTOR_SETTINGS] : [COLLECTOR_SETTINGS, AGENT_SETTINGS];
  const seen = new Map<string, Setting>();
  for (const list of lists) for (const s of list) if (!seen.has(s.name)) seen.set(s.name, s);
  return [...seen.values()];
}

/**
 * SHIPLOG_* names read outside the settings tables: the CLI's API address, the image names
 * deploy/stack.yml substitutes from the operator's shell, the fault switches the test suite
 * sets, and the suite's own names (inherited by the processes it starts).
 */
const OTHER_NAMES = [/^SHIPLOG_URL$/, /^SHIPLOG_PRINT_ADDRESS$/, /^SHIPLOG_(AGENT_)?IMAGE$/, /^SHIPLOG_FAULT_[A-Z0-9_]+$/, /^SHIPLOG_TEST_[A-Z0-9_]+$/];

function allNames(): string[] {
  return [...new Set([...AGENT_SETTINGS, ...COLLECTOR_SETTINGS].map((s) => s.name))];
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length] as number;
}

/** The known name closest to `name`, when it is close enough to be a typo. */
export function closestName(name: string, names = allNames()): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const n of names) {
    const d = distance(name, n);
    if (d < bestD) [best, bestD] = [n, d];
  }
  return bestD <= Math.max(2, Math.floor(name.length / 5)) ? best : undefined;
}

export function isKnownName(name: string): boolean {
  return allNames().includes(name) || OTHER_NAMES.some((re) => re.test(name));
}

/** A message naming the first SHIPLOG_* variable no part of shiplog reads, or undefined. */
export function unknownVariable(env: Env): string | undefined {
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('SHIPLOG_') || isKnownName(name)) continue;
    const near = closestName(name);
    return `${name} is not a shiplog setting${near ? ` (did you mean ${near}?)` : ''}; see 'shiplog <command> --help' or the README's configuration tables`;
  }
  return undefined;
}

/** `--http-port` → SHIPLOG_HTTP_PORT (`--docker-host` → DOCKER_HOST). */
export function flagName(flag: string): string {
  return flag === 'docker-host' ? 'DOCKER_HOST' : `SHIPLOG_${flag.toUpperCase().replace(/-/g, '_')}`;
}

export function nameFlag(name: string): string {
  return name === 'DOCKER_HOST' ? '--docker-host' : `--${name.slice('SHIPLOG_'.length).toLowerCase().replace(/_/g, '-')}`;
}

/** Maps --flag value / --flag=value onto environment names; a flag that is no setting of `cmd` is an error. */
export function flagsToEnv(cmd: 'agent' | 'collector' | 'up', args: string[], base: Env): Env | string {
  const known = settingsOf(cmd).map((s) => s.name);
  const env: Env = { ...base };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (!a.startsWith('--')) return `unexpected argument "${a}" (settings are given as --name value)`;
    let name = a.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq !== -1) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const key = flagName(name);
    if (!known.includes(key)) {
      const near = closestName(key, known);
      return `unknown option --${name}${near ? ` (did you mean ${nameFlag(near)}?)` : ''}`;
    }
    if (value === undefined) {
      value = args[++i];
      if (value === undefined) return `option --${name} needs a value`;
    }
    env[key] = value;
  }
  return env;
}
