#!/usr/bin/env node
/**
 * shiplog CLI: `shiplog agent | collector | up | logs`.
 * Settings come from the environment; a flag `--some-setting value` is the same as
 * SHIPLOG_SOME_SETTING=value (and `--docker-host` is DOCKER_HOST).
 */
import { ConfigError } from '../lib/errors.js';
import type { Env } from '../lib/env-config.js';

const USAGE = `usage: shiplog <command> [--setting value ...]

commands:
  agent       follow every container's logs on this Docker host and ship them to Kafka
  collector   consume Kafka into ClickHouse (embedded chDB or a server), exactly once
  up          agent + collector in one process on embedded defaults (no Kafka needed)
  logs        print stored logs: shiplog logs [container|glob] [--since 1h] [--grep TEXT] [-f] ...

Every setting is an environment variable; a flag --kafka-brokers h:9092 equals
SHIPLOG_KAFKA_BROKERS=h:9092. See README.md for the list.`;

/** Maps --flag value / --flag=value onto environment names. */
export function flagsToEnv(args: string[], base: Env): Env | string {
  const env: Env = { ...base };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (!a.startsWith('--')) return `unexpected argument "${a}"`;
    let name = a.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq !== -1) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    } else {
      value = args[i + 1];
      i++;
      if (value === undefined) return `flag --${name} needs a value`;
    }
    const key = name === 'docker-host' ? 'DOCKER_HOST' : `SHIPLOG_${name.toUpperCase().replace(/-/g, '_')}`;
    env[key] = value;
  }
  return env;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === 'logs') {
    const { runLogs } = await import('./logs.js');
    return runLogs(rest, process.env);
  }
  const env = flagsToEnv(rest, process.env);
  if (typeof env === 'string') {
    process.stderr.write(`shiplog ${cmd}: ${env}\n${USAGE}\n`);
    return 2;
  }
  switch (cmd) {
    case 'agent': {
      const { runAgent } = await import('../agent/main.js');
      return runAgent(env);
    }
    case 'collector': {
      const { runCollector } = await import('../collector/main.js');
      return runCollector(env);
    }
    case 'up': {
      const { runUp } = await import('../up/main.js');
      return runUp(env);
    }
    default:
      process.stderr.write(`shiplog: unknown command "${cmd}"\n${USAGE}\n`);
      return 2;
  }
}

const DAEMONS = ['agent', 'collector', 'up'];

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // A daemon that has stopped cleanly exits even if a client library left a timer or socket
    // behind (seen with kafkajs when stopped while still connecting); output gets 2 s to drain.
    if (DAEMONS.includes(process.argv[2] ?? '')) setTimeout(() => process.exit(code), 2000).unref();
  },
  (err: unknown) => {
    if (err instanceof ConfigError) process.stderr.write(`shiplog: ${err.message}\n`);
    else process.stderr.write(`shiplog: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = err instanceof ConfigError ? 2 : 1;
  },
);
