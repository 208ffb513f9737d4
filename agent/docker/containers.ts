/**
 * Container metadata from GET /containers/{id}/json, reduced to what every shipped record
 * carries so that it is useful on its own.
 */
import type { DockerClient } from './client.js';
import type { ContainerSpec } from '../../lib/records.js';

export interface ContainerMeta {
  id: string;
  name: string;
  image: string;
  imageId: string;
  labels: Record<string, string>;
  tty: boolean;
  running: boolean;
  /** Environment variable names and values; only consulted for LOGSPOUT=ignore. */
  env: string[];
  created: string;
  startedAt: string;
  finishedAt: string;
  /** The exit code of its last run (only meaningful once it has finished). */
  exitCode: number;
  logDriver: string;
  /** The json-file driver's log file as the engine names it (empty for other drivers, or before the first start). */
  logPath: string;
  /** Resource settings, from inspect (stats records carry them). */
  spec?: ContainerSpec;
}

export type { ContainerSpec };

interface InspectJson {
  Id: string;
  Name?: string;
  Created?: string;
  Image?: string;
  Config?: { Image?: string; Labels?: Record<string, string> | null; Tty?: boolean; Env?: string[] | null };
  State?: { Running?: boolean; StartedAt?: string; FinishedAt?: string; ExitCode?: number };
  HostConfig?: { LogConfig?: { Type?: string }; CpuPeriod?: number; CpuQuota?: number; NanoCpus?: number; CpuShares?: number; MemoryReservation?: number; Memory?: number; MemorySwap?: number };
  LogPath?: string;
}

export async function inspectContainer(docker: DockerClient, id: string): Promise<ContainerMeta> {
  const j = (await docker.getJson(`/containers/${encodeURIComponent(id)}/json`)) as InspectJson;
  return {
    id: j.Id,
    name: (j.Name ?? '').replace(/^\//, ''),
    image: j.Config?.Image ?? '',
    imageId: j.Image ?? '',
    labels: j.Config?.Labels ?? {},
    tty: j.Config?.Tty === true,
    running: j.State?.Running === true,
    env: j.Config?.Env ?? [],
    created: j.Created ?? '',
    startedAt: j.State?.StartedAt ?? '',
    // Docker reports a never-stopped container as 0001-01-01T00:00:00Z.
    finishedAt: j.State?.FinishedAt && !j.State.FinishedAt.startsWith('0001-') ? j.State.FinishedAt : '',
    exitCode: j.State?.ExitCode ?? 0,
    logDriver: j.HostConfig?.LogConfig?.Type ?? '',
    logPath: j.LogPath ?? '',
    spec: specOf(j.HostConfig),
  };
}

/**
 * The resource settings cAdvisor exports as container_spec_*, as the kernel applies them: the
 * CFS period (Docker leaves 0 for the kernel's 100 ms), the quota (`--cpus` is NanoCpus, which
 * Docker turns into a quota over that period; 0: none), the CPU shares (0: the default 1024)
 * the memory reservation (0: none) and the memory + swap limit: --memory-swap, or twice
 * --memory when only that is set (Docker's default), 0 when unlimited (-1) or without a limit.
 */
export function specOf(h: InspectJson['HostConfig']): ContainerSpec {
  const period = h?.CpuPeriod && h.CpuPeriod > 0 ? h.CpuPeriod : 100_000;
  const quota = h?.NanoCpus && h.NanoCpus > 0 ? Math.round((h.NanoCpus * period) / 1e9) : h?.CpuQuota && h.CpuQuota > 0 ? h.CpuQuota : 0;
  return {
    cpu_period: period,
    cpu_quota: quota,
    cpu_shares: h?.CpuShares && h.CpuShares > 0 ? h.CpuShares : 1024,
    memory_reservation: h?.MemoryReservation && h.MemoryReservation > 0 ? h.MemoryReservation : 0,
    memory_swap: h?.MemorySwap && h.MemorySwap > 0 ? h.MemorySwap : !h?.MemorySwap && h?.Memory && h.Memory > 0 ? 2 * h.Memory : 0,
  };
}

export interface ContainerSummary {
  id: string;
  running: boolean;
}

export async function listContainers(docker: DockerClient): Promise<ContainerSummary[]> {
  const list = (await docker.getJson('/containers/json', { all: true })) as { Id: string; State?: string }[];
  return list.map((c) => ({ id: c.Id, running: c.State === 'running' }));
}

/** Well-known orchestration labels, surfaced as fields of their own. */
export function orchestration(labels: Record<string, string>): {
  composeProject?: string;
  composeService?: string;
  swarmService?: string;
  swarmTask?: string;
  stack?: string;
} {
  const pick = (k: string) => labels[k] || undefined;
  return {
    composeProject: pick('com.docker.compose.project'),
    composeService: pick('com.docker.compose.service'),
    swarmService: pick('com.docker.swarm.service.name'),
    swarmTask: pick('com.docker.swarm.task.name'),
    stack: pick('com.docker.stack.namespace'),
  };
}

/** Docker drivers whose logs the API can read back. */
export const READABLE_LOG_DRIVERS = new Set(['json-file', 'local', 'journald', 'etwlogs', '']);
