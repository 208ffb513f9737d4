/**
 * Records for `<prefix>.stats` and `<prefix>.events`: one JSON message per sample or event,
 * keyed by container id, with the same container metadata as log records.
 * Layouts: schema/stats-record.schema.json and schema/event-record.schema.json.
 */
import { deviceName } from '../docker/block-devices.js';
import type { ContainerMeta } from '../docker/containers.js';
import { orchestration } from '../docker/containers.js';
import type { StatsSample } from '../docker/stats.js';
import type { EventRecord, MachineFacts, RecordContainer, StatsRecord } from '../../lib/records.js';

export function containerFields(c: Pick<ContainerMeta, 'id' | 'name' | 'image' | 'labels'> & { imageId?: string; startedAt?: string }): RecordContainer {
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

export function statsRecord(host: string, c: ContainerMeta, s: StatsSample, machine?: MachineFacts, nameDevice: (majorMinor: string) => string = deviceName): string {
  const devices: NonNullable<StatsRecord['blkio_devices']> = {};
  for (const [k, v] of Object.entries(s.blkio_devices)) {
    const d = (devices[nameDevice(k)] ??= { read_bytes: 0, write_bytes: 0 });
    d.read_bytes += v.read_bytes;
    d.write_bytes += v.write_bytes;
  }
  const r: StatsRecord = { v: 1, type: 'stats', host, container: containerFields(c), ...s, blkio_devices: devices, ...(c.spec ? { spec: c.spec } : {}), ...(machine ? { machine } : {}) };
  return JSON.stringify(r);
}

/** What an event record says beyond host and container. */
export type EventFields = Omit<EventRecord, 'v' | 'type' | 'host' | 'container'>;

export function eventRecord(host: string, c: Pick<ContainerMeta, 'id' | 'name' | 'image' | 'labels'>, e: EventFields): string {
  const r: EventRecord = { v: 1, type: 'event', host, container: containerFields(c), ...e };
  return JSON.stringify(r);
}
