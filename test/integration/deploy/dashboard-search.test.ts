/**
 * The logs dashboard's search and host conditions, as Grafana fills them in, run by the real
 * ClickHouse engine (chDB): whatever is typed in Search (quotes, backslashes, NULs, SQL, any
 * Unicode) is looked for as text, never ends the string, and finds exactly the lines containing
 * it; whatever host names are selected (any string) select exactly those.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Session } from 'chdb';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'shiplog-dash-search-'));
const session = new Session(dir);
afterAll(() => {
  session.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** Grafana's `percentencode` format (encodeURIComponentStrict in Grafana's source). */
const percentencode = (v: string) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
/** A literal built the same safe way, for the lines searched. */
const literal = (v: string) => `decodeURLComponent('${percentencode(v)}')`;
const lowerAscii = (v: string) => v.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** The search condition of the shipped dashboard file (every logs panel has the same). */
const dashboard = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../dashboards/shiplog-logs.json'), 'utf8')) as { panels: { targets: { rawSql: string }[] }[] };
const condition = (/\('\$\{search:percentencode\}'.*> 0\)/.exec(dashboard.panels[0]?.targets[0]?.rawSql ?? '') ?? [''])[0];

/** The values of `column` (made of `values`, in order) that `where` keeps, run by chDB. */
function kept(column: string, values: string[], where: string): string[] {
  const sql = `SELECT ${column} FROM (SELECT arrayJoin([${values.map(literal).join(', ')}]) AS ${column}) WHERE ${where} FORMAT JSONEachRow`;
  return session
    .query(sql, 'JSONEachRow')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as Record<string, string>)[column] as string);
}

function search(lines: string[], typed: string): string[] {
  return kept('Body', lines, condition.replaceAll('${search:percentencode}', percentencode(typed)));
}

describe('logs dashboard search', () => {
  it('is in every logs panel, percent-encoded', () => {
    expect(condition).toContain('decodeURLComponent');
    for (const p of dashboard.panels) expect(p.targets[0]?.rawSql).toContain(condition);
  });

  it("finds it's, a backslash and text that looks like SQL, as text", () => {
    const lines = ["it's down", 'C:\\path\\', "x' OR 1=1 --", 'nothing here', "\\' OR 1=1 --", 'IT\'S UP'];
    expect(search(lines, "it's")).toEqual(["it's down", "IT'S UP"]);
    expect(search(lines, '\\')).toEqual(['C:\\path\\', "\\' OR 1=1 --"]);
    expect(search(lines, "' OR 1=1 --")).toEqual(["x' OR 1=1 --", "\\' OR 1=1 --"]);
    expect(search(lines, "\\' OR 1=1 --")).toEqual(["\\' OR 1=1 --"]);
    expect(search(lines, '')).toEqual(lines);
  });

  it('finds exactly the lines containing any typed text (ASCII case ignored)', () => {
    const text = fc.oneof(
      fc.string({ unit: fc.constantFrom("'", '\\', '"', '%', '_', '\0', '\n', '`', ';', '-', '日', 'é', '😀', 'a', 'A', ' ', '{', '}'), maxLength: 12 }),
      fc.string({ unit: 'binary', maxLength: 12 }),
    );
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 8 }), fc.nat(), (lines, pick) => {
        const line = lines[pick % lines.length] as string;
        const chars = [...line];
        const typed = chars.slice(0, Math.max(1, Math.floor(chars.length / 2))).join('');
        const want = lines.filter((l) => lowerAscii(l).includes(lowerAscii(typed)));
        expect(search(lines, typed)).toEqual(want);
      }),
      { numRuns: 150 },
    );
  });
});

/** The shipped host condition (`oneOf`), for a selection: Grafana's percentencode of a multi-value variable. */
const hostCondition = (/\$__conditionalAll\((has\(splitByChar.*?HostName\)), \$host\)/.exec(dashboard.panels[0]?.targets[0]?.rawSql ?? '') ?? ['', ''])[1] as string;

function pick(names: string[], selected: string[], braces = true): string[] {
  const formatted = percentencode(braces ? `{${selected.join(',')}}` : selected.join(','));
  return kept('HostName', names, hostCondition.replaceAll('${host:percentencode}', formatted));
}

describe('logs dashboard host and container selection', () => {
  it('is percent-encoded in every logs panel and in the container list (no :singlequote)', () => {
    expect(hostCondition).toContain('decodeURLComponent');
    const text = JSON.stringify(dashboard);
    expect(text).not.toContain(':singlequote');
    expect(text).toContain('${container:percentencode}');
  });

  it('selects exactly the chosen names, whatever they hold (quotes, backslashes, braces, SQL)', () => {
    const names = ["it's", 'C:\\path\\', "x\\' OR 1=1 --", '{braced}', 'plain', '', 'é😀'];
    expect(pick(names, ["x\\' OR 1=1 --"])).toEqual(["x\\' OR 1=1 --"]);
    expect(pick(names, ['C:\\path\\', "it's"])).toEqual(["it's", 'C:\\path\\']);
    expect(pick(names, ['{braced}'])).toEqual(['{braced}']);
    // A single-valued variable is not braced.
    expect(pick(names, ['plain'], false)).toEqual(['plain']);
    const name = fc.string({ unit: fc.constantFrom("'", '\\', '"', '%', '{', '}', '\0', ';', '-', ' ', 'a', 'é', '😀'), maxLength: 10 });
    fc.assert(
      fc.property(fc.uniqueArray(name, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), (all, picks) => {
        const chosen = [...new Set(picks.map((i) => all[i % all.length] as string))];
        expect(pick(all, chosen)).toEqual(all.filter((n) => chosen.includes(n)));
      }),
      { numRuns: 150 },
    );
  });
});
