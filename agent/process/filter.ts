/**
 * Which containers the agent follows. Exclusion by label always wins:
 * `shiplog.exclude=true`, logspout's `logspout.exclude=true` label and `LOGSPOUT=ignore` env.
 * Then the configured include lists (if any) must match, and the exclude lists must not.
 */
import { RE2JS } from 're2js';
import type { ContainerMeta } from '../docker/containers.js';

export interface FilterConfig {
  includeNames: string[];
  excludeNames: string[];
  includeImages: string[];
  excludeImages: string[];
  /** "key" (label present) or "key=value". */
  includeLabels: string[];
  excludeLabels: string[];
}

export type FilterVerdict = { follow: true } | { follow: false; reason: string };

export interface Matcher {
  test(s: string): boolean;
}

/**
 * Shell-style glob (`*`, `?`) to an anchored pattern, run in RE2: container names and images
 * come from whoever starts a container, and `a*a*a*a*b` must not backtrack over them.
 */
export function globToRegExp(glob: string): Matcher {
  let re = '^';
  for (const ch of glob) {
    if (ch === '*') re += '(?s:.*)';
    else if (ch === '?') re += '(?s:.)';
    else re += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return RE2JS.compile(`${re}$`);
}

export class ContainerFilter {
  private readonly incNames: Matcher[];
  private readonly excNames: Matcher[];
  private readonly incImages: Matcher[];
  private readonly excImages: Matcher[];

  constructor(private readonly cfg: FilterConfig) {
    this.incNames = cfg.includeNames.map(globToRegExp);
    this.excNames = cfg.excludeNames.map(globToRegExp);
    this.incImages = cfg.includeImages.map(globToRegExp);
    this.excImages = cfg.excludeImages.map(globToRegExp);
  }

  decide(c: ContainerMeta): FilterVerdict {
    const l = c.labels;
    if (isTrue(l['shiplog.exclude'])) return { follow: false, reason: 'label shiplog.exclude=true' };
    if (isTrue(l['logspout.exclude'])) return { follow: false, reason: 'label logspout.exclude=true' };
    if (c.env.includes('LOGSPOUT=ignore')) return { follow: false, reason: 'env LOGSPOUT=ignore' };
    if (this.incNames.length && !this.incNames.some((r) => r.test(c.name))) return { follow: false, reason: 'name not in SHIPLOG_INCLUDE_NAMES' };
    if (this.excNames.some((r) => r.test(c.name))) return { follow: false, reason: 'name in SHIPLOG_EXCLUDE_NAMES' };
    if (this.incImages.length && !this.incImages.some((r) => r.test(c.image))) return { follow: false, reason: 'image not in SHIPLOG_INCLUDE_IMAGES' };
    if (this.excImages.some((r) => r.test(c.image))) return { follow: false, reason: 'image in SHIPLOG_EXCLUDE_IMAGES' };
    if (this.cfg.includeLabels.length && !this.cfg.includeLabels.some((s) => labelMatches(l, s))) return { follow: false, reason: 'no label in SHIPLOG_INCLUDE_LABELS' };
    if (this.cfg.excludeLabels.some((s) => labelMatches(l, s))) return { follow: false, reason: 'label in SHIPLOG_EXCLUDE_LABELS' };
    return { follow: true };
  }
}

function isTrue(v: string | undefined): boolean {
  return v !== undefined && ['true', '1', 'yes'].includes(v.toLowerCase());
}

function labelMatches(labels: Record<string, string>, spec: string): boolean {
  const eq = spec.indexOf('=');
  if (eq === -1) return Object.hasOwn(labels, spec);
  return labels[spec.slice(0, eq)] === spec.slice(eq + 1);
}
