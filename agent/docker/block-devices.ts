/**
 * Names of block devices by major:minor, as cAdvisor labels block I/O (`device="/dev/sda"`):
 * from the kernel's /sys/dev/block/<major>:<minor>/uevent (DEVNAME), which a container sees for
 * the host too. A device it cannot name keeps its major:minor. Read once per device.
 */
import { readFileSync } from 'node:fs';

const names = new Map<string, string>();

export function deviceName(majorMinor: string, sysDevBlock = '/sys/dev/block'): string {
  let name = names.get(majorMinor);
  if (name === undefined) {
    name = majorMinor;
    if (/^\d+:\d+$/.test(majorMinor)) {
      try {
        const dev = /^DEVNAME=(.+)$/m.exec(readFileSync(`${sysDevBlock}/${majorMinor}/uevent`, 'utf8'))?.[1];
        if (dev && !dev.includes('..')) name = `/dev/${dev}`;
      } catch {
        // no sysfs, or not this device: keep major:minor
      }
    }
    names.set(majorMinor, name);
  }
  return name;
}
