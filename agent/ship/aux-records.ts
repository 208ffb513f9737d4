/**
 * Records for `<prefix>.stats` and `<prefix>.events`: one JSON message per sample or event,
 * keyed by container id, with the same container metadata as log records.
 * Layouts: schema/stats-record.schema.json and schema/event-record.schema.json.
 */
import type { ContainerMeta } from '../docker/containers.js';
import { orchestration } from '../docker/containers.js';
import type { StatsSample } from '../docker/stats.js';

export function containerFields(c: Pick<ContainerMeta, 'id' | 'name' | 'image' | 'labels'> & { imageId?: string; startedAt?: string }) {
  const o = orchestration(c.labels);
  return {
    id: c.id,
    name: c.name,
    image: c.image,
    labels: c.labels,
    compose_project: o.composeProject,
    compose_service: o.composeService,
    swarm_service: o.swarmService,
    swarm_task: o.swarmTask,
    started_at: c.startedAt || undefined,
  };
}

export function statsRecord(host: string, c: ContainerMeta, s: StatsSample): string {
  return JSON.stringify({ v: 1, type: 'stats', host, container: containerFields(c), ...s });
}

export interface EventFields {
  action: string;
  /** Docker's event time in nanoseconds since the epoch, as a decimal string. */
  time_nano: string;
  exit_code?: number;
  /** For health_status: healthy, unhealthy or starting. */
  health?: string;
  /** For rename: the previous name. */
  old_name?: string;
  attributes: Record<string, string>;
}

export function eventRecord(host: string, c: Pick<ContainerMeta, 'id' | 'name' | 'image' | 'labels'>, e: EventFields): string {
  return JSON.stringify({ v: 1, type: 'event', host, container: containerFields(c), ...e });
}
