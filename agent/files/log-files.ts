/**
 * Which containers' logs are read from their files (SHIPLOG_DOCKER_LOGS, SHIPLOG_DOCKER_ROOT).
 * Decided once at start-up for the engine (local, its data dir readable) and then per
 * container (the json-file driver, a log path under the engine's data dir). `files` that cannot
 * work stops start-up naming the setting; `auto` falls back to the Engine API and says why.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, describe } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { AgentConfig } from '../config.js';
import type { ContainerMeta } from '../docker/containers.js';
import { pinThread } from './pin-thread.js';

export interface LogFiles {
  /** The container's log file as the agent sees it, or undefined: read it through the API. */
  pathOf(meta: ContainerMeta): string | undefined;
}

/** `info`: the engine's `docker info`. */
export async function logFilesFor(config: AgentConfig, info: () => Promise<unknown>, log: Logger): Promise<LogFiles | undefined> {
  const mode = config.logsFrom;
  if (mode === 'api') return undefined;
  const refuse = (why: string): undefined => {
    if (mode === 'files') throw new ConfigError([`SHIPLOG_DOCKER_LOGS: files, but ${why}`]);
    log.info({ why }, 'reading container logs through the Engine API (SHIPLOG_DOCKER_LOGS=auto)');
    return undefined;
  };
  if (!config.docker.socketPath) return refuse(`the engine is remote (DOCKER_HOST=${config.docker.display}): its log files are on another machine`);
  let engineRoot: string;
  try {
    const { DockerRootDir } = (await info()) as { DockerRootDir?: unknown };
    if (typeof DockerRootDir !== 'string' || !DockerRootDir.startsWith('/')) return refuse('the engine does not say where its data dir is (DockerRootDir)');
    engineRoot = DockerRootDir.replace(/\/+$/, '');
  } catch (err) {
    return refuse(`the engine's data dir could not be asked for: ${describe(err)}`);
  }
  const root = (config.dockerRoot ?? engineRoot).replace(/\/+$/, '');
  const dir = join(root, 'containers');
  try {
    await access(dir, constants.R_OK | constants.X_OK);
  } catch (err) {
    const how = config.dockerRoot ? `SHIPLOG_DOCKER_ROOT=${config.dockerRoot}` : `the engine's data dir ${engineRoot} (set SHIPLOG_DOCKER_ROOT where it is mounted)`;
    return refuse(`${dir} cannot be read (${(err as NodeJS.ErrnoException).code ?? describe(err)}): mount ${how} read-only into the agent, or run it with access to it`);
  }
  log.info({ engineRoot, root }, 'reading json-file container logs from their files');
  // Started now, not with the first container: a thread takes a while to start on a busy host,
  // and a container logging fast from its start rotates meanwhile.
  pinThread.warm();
  return {
    pathOf(meta) {
      // Docker's json-file is <id>-json.log; Podman says json-file for its k8s-file logs (ctr.log), another format.
      if (meta.logDriver !== 'json-file' || !meta.logPath.startsWith(`${engineRoot}/`) || !meta.logPath.endsWith('-json.log')) return undefined;
      return root + meta.logPath.slice(engineRoot.length);
    },
  };
}
