#!/usr/bin/env node
/**
 * shiplog CLI: `shiplog agent | collector | up | logs`.
 * Settings come from the environment; a flag `--some-setting value` is the same as
 * SHIPLOG_SOME_SETTING=value (and `--docker-host` is DOCKER_HOST); one that no part reads is an error.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../lib/errors.js';
import { packageRoot } from '../lib/package-root.js';

const USAGE = `usage: shiplog <command> [options]

commands:
  up          agent + collector in one process on embedded defaults (no Kafka needed)
  logs        print stored logs like docker logs: shiplog logs [NAME|GLOB ...] [-f] [-n N] [--since 1h] ...
  agent       follow every container's logs on this Docker host and ship them to Kafka
  collector   consume Kafka into ClickHouse (embedded chDB or a server), exactly once

Run 'shiplog <command> --help' for a command's options; 'shiplog --version' for the version.
Every setting is an environment variable; a flag --kafka-brokers h:9092 equals
SHIPLOG_KAFKA_BROKERS=h:9092.`;

type Daemon = 'agent' | 'collector' | 'up';

const ABOUT: Record<Daemon, string> = {
  up: 'Follow every container on this Docker host and store its logs, stats and events in an embedded ClickHouse under SHIPLOG_DATA_DIR; serve the query API, live tail and /metrics.',
  agent: "Follow every container's logs, stats and events on this Docker host and ship them to Kafka.",
  collector: 'Consume the Kafka topics into ClickHouse (embedded chDB, or a server with SHIPLOG_CLICKHOUSE_URL), exactly once; serve the query API and /metrics.',
};

async function commandHelp(cmd: Daemon): Promise<string> {
  const { settingsOf, nameFlag } = await import('./settings.js');
  const rows = settingsOf(cmd).map((s) => `  ${nameFlag(s.name)} (${s.name})${s.default ? ` [${s.default}]` : ''}\n      ${s.help}`);
  return `usage: shiplog ${cmd} [--setting value ...]\n\n${ABOUT[cmd]}\n\nsettings (flag, environment variable, default):\n${rows.join('\n')}\n`;
}

function version(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    (cmd === undefined ? process.stderr : process.stdout).write(`${USAGE}\n`);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '--version' || cmd === '-v' || cmd === 'version' || rest.includes('--version')) {
    process.stdout.write(`shiplog ${version()}\n`);
    return 0;
  }
  if (cmd === 'logs') {
    const { runLogs } = await import('./logs.js');
    return runLogs(rest, process.env);
  }
  if (cmd !== 'agent' && cmd !== 'collector' && cmd !== 'up') {
    process.stderr.write(`shiplog: unknown command "${cmd}"\n${USAGE}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(await commandHelp(cmd));
    return 0;
  }
  const { flagsToEnv, unknownVariable } = await import('./settings.js');
  const env = flagsToEnv(cmd, rest, process.env);
  if (typeof env === 'string') {
    process.stderr.write(`shiplog ${cmd}: ${env}\nRun 'shiplog ${cmd} --help' for the settings.\n`);
    return 2;
  }
  const unknown = unknownVariable(env);
  if (unknown) {
    process.stderr.write(`shiplog ${cmd}: ${unknown}\n`);
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
