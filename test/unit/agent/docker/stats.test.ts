import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deviceName } from '../../../../agent/docker/block-devices.js';
import { specOf } from '../../../../agent/docker/containers.js';
import { toSample } from '../../../../agent/docker/stats.js';

const fixture = (name: string) => JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../fixtures/docker-stats', name), 'utf8')) as Parameters<typeof toSample>[0];
const HOST = 24 * 1024 ** 3;

describe('stats samples from Docker stats JSON', () => {
  it('cgroup v1: working set = usage - total_inactive_file, networks per interface, block I/O by op', () => {
    const s = toSample(fixture('cgroup-v1-networks.json'), HOST);
    expect(s.memory).toEqual({ usage: 8634368, working_set: 8634368 - 1048576, rss: 6537216, cache: 2097152, limit: 67108864, failcnt: 0, max_usage: 9651904 });
    expect(s.cpu).toMatchObject({ total_ns: 100215355, user_ns: 50000000, system_ns: 30000000, online_cpus: 4, periods: 10, throttled_periods: 2, throttled_ns: 5000000 });
    expect(s.networks.eth0).toEqual({ rx_bytes: 5338, rx_packets: 36, rx_errors: 2, rx_dropped: 1, tx_bytes: 648, tx_packets: 8, tx_errors: 4, tx_dropped: 3 });
    expect(Object.keys(s.networks)).toEqual(['eth0', 'eth5']);
    expect(s.blkio).toEqual({ read_bytes: 4096, write_bytes: 8192 });
    // Per device too (the Total entry is neither).
    expect(s.blkio_devices).toEqual({ '8:0': { read_bytes: 4096, write_bytes: 8192 } });
    expect(s.pids).toBe(3);
  });

  it('cgroup v2: anon/file/inactive_file, and no limit reported as 0 as cAdvisor does', () => {
    // Unlimited: Docker reports the host's total memory as the limit.
    const s = toSample(fixture('cgroup-v2.json'), 25276940288);
    expect(s.memory).toMatchObject({ usage: 52428800, working_set: 52428800 - 10485760, rss: 31457280, cache: 20971520, limit: 0 });
    expect(s.blkio).toEqual({ read_bytes: 1024, write_bytes: 2048 });
    expect(s.blkio_devices).toEqual({ '254:0': { read_bytes: 1024, write_bytes: 2048 } });
    // cgroup v2 has no max_usage and, in Docker's figures, no swap.
    expect(s.memory.max_usage).toBeUndefined();
    expect(s.memory.swap).toBeUndefined();
  });

  it('swap and mapped files where the engine reports them; what is not a count is left out', () => {
    const j = fixture('cgroup-v1-networks.json');
    const stats = { ...(j.memory_stats?.stats ?? {}), total_swap: 4096, total_mapped_file: 8192, mapped_file: 1 };
    const s = toSample({ ...j, memory_stats: { ...j.memory_stats, stats } }, HOST);
    expect(s.memory).toMatchObject({ swap: 4096, mapped_file: 8192 });
    const v2 = toSample({ ...j, memory_stats: { usage: 10, stats: { file_mapped: 77 }, max_usage: -1 } }, HOST);
    expect(v2.memory.mapped_file).toBe(77);
    expect(v2.memory.max_usage).toBeUndefined();
  });

  it('block devices are named from the kernel\'s sysfs, and keep major:minor where it has no name', () => {
    const sys = mkdtempSync(join(tmpdir(), 'sys-dev-block-'));
    mkdirSync(join(sys, '8:16'));
    writeFileSync(join(sys, '8:16/uevent'), 'MAJOR=8\nMINOR=16\nDEVNAME=sdb\nDEVTYPE=disk\n');
    mkdirSync(join(sys, '9:9'));
    writeFileSync(join(sys, '9:9/uevent'), 'MAJOR=9\nDEVNAME=../../etc/passwd\n');
    expect(deviceName('8:16', sys)).toBe('/dev/sdb');
    expect(deviceName('7:99', sys)).toBe('7:99');
    expect(deviceName('9:9', sys)).toBe('9:9');
    expect(deviceName('../x', sys)).toBe('../x');
    rmSync(sys, { recursive: true });
  });

  it('a sample captured from the test dockerd (cgroup v1, --network none)', () => {
    const s = toSample(fixture('cgroup-v1-captured.json'), HOST);
    expect(s.memory.limit).toBe(64 * 1024 * 1024);
    expect(s.memory.usage).toBeGreaterThan(0);
    expect(s.networks).toEqual({});
    expect(s.cpu.total_ns).toBeGreaterThan(0);
  });
});

describe('resource settings from inspect (HostConfig)', () => {
  it('as the kernel applies them: --cpus as a quota over the period, defaults for what is unset', () => {
    expect(specOf({})).toEqual({ cpu_period: 100_000, cpu_quota: 0, cpu_shares: 1024, memory_reservation: 0, memory_swap: 0 });
    expect(specOf(undefined)).toEqual({ cpu_period: 100_000, cpu_quota: 0, cpu_shares: 1024, memory_reservation: 0, memory_swap: 0 });
    // --memory 64m: Docker's default swap allowance doubles it; --memory-swap sets it; -1 is unlimited.
    expect(specOf({ Memory: 64 * 2 ** 20, MemorySwap: 0 }).memory_swap).toBe(128 * 2 ** 20);
    expect(specOf({ Memory: 64 * 2 ** 20, MemorySwap: 96 * 2 ** 20 }).memory_swap).toBe(96 * 2 ** 20);
    expect(specOf({ Memory: 64 * 2 ** 20, MemorySwap: -1 }).memory_swap).toBe(0);
    // --cpus 1.5
    expect(specOf({ NanoCpus: 1_500_000_000, CpuPeriod: 0, CpuQuota: 0 })).toMatchObject({ cpu_period: 100_000, cpu_quota: 150_000 });
    // --cpu-period 50000 --cpu-quota 25000 --cpu-shares 512 --memory-reservation 64m
    expect(specOf({ CpuPeriod: 50_000, CpuQuota: 25_000, CpuShares: 512, MemoryReservation: 64 * 2 ** 20 })).toEqual({ cpu_period: 50_000, cpu_quota: 25_000, cpu_shares: 512, memory_reservation: 64 * 2 ** 20, memory_swap: 0 });
    // -1 (unlimited, as the API may say) is no quota.
    expect(specOf({ CpuQuota: -1 }).cpu_quota).toBe(0);
  });
});
