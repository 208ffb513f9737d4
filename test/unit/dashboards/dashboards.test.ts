/**
 * The dashboard files: what generate.ts makes (so edits go through the code), and valid
 * Grafana dashboard JSON — the fields Grafana's dashboard schema (v39) requires, panels inside
 * the 24-column grid without overlaps, unique ids, datasources only through the dashboard's
 * datasource variables, and no variable used that is not defined.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Dashboard } from '@grafana/schema';
import { DASHBOARDS, render } from '../../../dashboards/generate.js';

const dir = resolve(import.meta.dirname, '../../../dashboards');
const BUILTIN = new Set(['__rate_interval', '__range', '__interval', '__interval_s', '__timeFilter', '__timeInterval', '__conditionalAll', '__all']);

interface Dash {
  uid: string;
  title: string;
  schemaVersion: number;
  time: { from: string; to: string };
  templating: { list: { name: string; type: string; query?: unknown; datasource?: { uid: string } }[] };
  panels: { id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; datasource: { type: string; uid: string }; targets: { refId: string; datasource: { uid: string }; expr?: string; rawSql?: string }[] }[];
}

describe('Grafana dashboards', () => {
  for (const [file, make] of Object.entries(DASHBOARDS)) {
    it(`${file} is what generate.ts makes, and valid dashboard JSON`, () => {
      const text = readFileSync(resolve(dir, file), 'utf8');
      expect(text, 'run `npm run dashboards` after editing generate.ts').toBe(render(make));
      const d = JSON.parse(text) as Dash;
      expect(d.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
      expect(d.title).toBeTruthy();
      expect(d.schemaVersion).toBe(39);
      expect(d.time.from).toMatch(/^now-/);
      const vars = new Map(d.templating.list.map((v) => [v.name, v]));
      expect(vars.size).toBe(d.templating.list.length);
      const dsVars = d.templating.list.filter((v) => v.type === 'datasource').map((v) => `\${${v.name}}`);
      expect(dsVars.length).toBeGreaterThan(0);
      const ids = new Set<number>();
      const cells = new Set<string>();
      for (const p of d.panels) {
        expect(ids.has(p.id), `panel id ${p.id}`).toBe(false);
        ids.add(p.id);
        expect(['timeseries', 'stat', 'bargauge', 'logs', 'table']).toContain(p.type);
        const g = p.gridPos;
        expect(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.y >= 0 && g.h > 0, `${p.title} grid`).toBe(true);
        for (let x = g.x; x < g.x + g.w; x++) {
          for (let y = g.y; y < g.y + g.h; y++) {
            expect(cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`).toBe(false);
            cells.add(`${x},${y}`);
          }
        }
        expect(dsVars).toContain(p.datasource.uid);
        expect(p.targets.length).toBeGreaterThan(0);
        for (const t of p.targets) {
          expect(t.datasource.uid).toBe(p.datasource.uid);
          const q = t.expr ?? t.rawSql;
          expect(q, p.title).toBeTruthy();
          for (const m of (q as string).matchAll(/\$\{?(\w+)/g)) {
            const name = m[1] as string;
            expect(BUILTIN.has(name) || vars.has(name), `${p.title}: $${name} is not defined`).toBe(true);
          }
          // Typed text reaches SQL only percent-encoded (see SEARCH_TEXT in generate.ts).
          expect(q, `${p.title}: a variable pasted raw`).not.toMatch(/\$\{\w+:(raw|sqlstring|text)\}/);
          for (const v of d.templating.list.filter((x) => x.type === 'textbox')) {
            for (const m of (q as string).matchAll(new RegExp(`\\$\\{?${v.name}\\b(:\\w+)?`, 'g'))) {
              expect(m[1], `${p.title}: text box ${v.name} used as ${m[0]}`).toBe(':percentencode');
            }
          }
        }
      }
    });
  }
});

describe("Grafana's own dashboard schema (@grafana/schema 13.2.3)", () => {
  it('every dashboard is a Dashboard of its types (tsc checks generate.ts and this file; the types refuse what the schema lacks)', () => {
    for (const make of Object.values(DASHBOARDS)) {
      const d: Dashboard = make();
      expect(d.schemaVersion).toBe(39);
      expect(d.panels?.length).toBeGreaterThan(0);
    }
    // What the types refuse, so the check above means something: a misspelt panel field, a
    // variable type Grafana does not have, a link without what the schema requires.
    const refused: Dashboard[] = [
      // @ts-expect-error gridPosition is not a panel field (gridPos is)
      { title: 't', schemaVersion: 39, panels: [{ type: 'stat', gridPosition: { x: 0, y: 0, w: 1, h: 1 } }] },
      // @ts-expect-error 'dropdown' is not a variable type
      { title: 't', schemaVersion: 39, templating: { list: [{ name: 'v', type: 'dropdown' }] } },
      // @ts-expect-error a link needs icon, targetBlank, tooltip (Grafana fills them when it loads a file without them)
      { title: 't', schemaVersion: 39, links: [{ title: 'x', type: 'dashboards', tags: [], asDropdown: false, includeVars: false, keepTime: false }] },
    ];
    expect(refused).toHaveLength(3);
  });
});
