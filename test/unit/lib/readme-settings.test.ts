/** The README's configuration tables list every setting the code reads, with its default. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_SETTINGS } from '../../../agent/config.js';
import { COLLECTOR_SETTINGS } from '../../../collector/config.js';

const readme = readFileSync(resolve(import.meta.dirname, '../../../README.md'), 'utf8');

describe('README configuration tables', () => {
  for (const [part, settings] of [
    ['collector', COLLECTOR_SETTINGS],
    ['agent', AGENT_SETTINGS],
  ] as const) {
    it(`lists every ${part} setting with its default`, () => {
      const section = readme.slice(readme.indexOf(`## Configuration (${part})`));
      for (const s of settings) {
        const row = section.split('\n').find((l) => l.startsWith(`| \`${s.name}\` |`));
        expect(row, s.name).toBeDefined();
        expect(row, s.name).toContain(s.default ? `\`${s.default}\`` : '|  |');
      }
    });
  }
});
