import { describe, expect, it } from 'vitest';
import type { ContainerMeta } from '../../../../agent/docker/containers.js';
import { ContainerFilter, globToRegExp, type FilterConfig } from '../../../../agent/process/filter.js';

const none: FilterConfig = { includeNames: [], excludeNames: [], includeImages: [], excludeImages: [], includeLabels: [], excludeLabels: [] };
const meta = (o: Partial<ContainerMeta>): ContainerMeta => ({
  id: 'a'.repeat(64), name: 'web-1', image: 'nginx:1.27', imageId: '', labels: {}, tty: false, running: true, env: [], created: '', startedAt: '', finishedAt: '', exitCode: 0, logDriver: 'json-file', logPath: '', ...o,
});

describe('ContainerFilter', () => {
  it('follows everything by default', () => {
    expect(new ContainerFilter(none).decide(meta({})).follow).toBe(true);
  });

  it('honours shiplog.exclude, logspout.exclude and LOGSPOUT=ignore', () => {
    const f = new ContainerFilter(none);
    expect(f.decide(meta({ labels: { 'shiplog.exclude': 'true' } }))).toEqual({ follow: false, reason: 'label shiplog.exclude=true' });
    expect(f.decide(meta({ labels: { 'logspout.exclude': 'true' } })).follow).toBe(false);
    expect(f.decide(meta({ env: ['A=1', 'LOGSPOUT=ignore'] })).follow).toBe(false);
    expect(f.decide(meta({ labels: { 'shiplog.exclude': 'false' } })).follow).toBe(true);
  });

  it('includes and excludes by name and image globs and by label', () => {
    const f = new ContainerFilter({ ...none, includeNames: ['web-*'], excludeImages: ['redis:*'], excludeLabels: ['tier=debug'] });
    expect(f.decide(meta({ name: 'web-2' })).follow).toBe(true);
    expect(f.decide(meta({ name: 'db-1' })).follow).toBe(false);
    expect(f.decide(meta({ image: 'redis:7' })).follow).toBe(false);
    expect(f.decide(meta({ labels: { tier: 'debug' } })).follow).toBe(false);
    const g = new ContainerFilter({ ...none, includeLabels: ['team'] });
    expect(g.decide(meta({ labels: { team: 'x' } })).follow).toBe(true);
    expect(g.decide(meta({})).follow).toBe(false);
  });

  it('globs are anchored and escape regex characters', () => {
    expect(globToRegExp('a.b*').test('a.bcd')).toBe(true);
    expect(globToRegExp('a.b*').test('axbcd')).toBe(false);
    expect(globToRegExp('web-?').test('web-12')).toBe(false);
  });
});
