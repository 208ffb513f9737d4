/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The web page as a person uses it: headless Chromium (Debian's package, driven by
 * puppeteer-core; nothing is downloaded) against a real `shiplog up` with a real dockerd.
 * Live shows a new line; pause under ~200 lines/s then resume keeps every line once, in order;
 * Search with a level filter and a histogram zoom shows what the API answers for that range;
 * scrolling to the end of 5,000 matches shows each once; a line's context; a container's page
 * (exit code 3, a CPU chart of a busy one); the token prompt; a 1 MiB line and ANSI colours
 * render. Screenshots of each view go to SHIPLOG_TEST_ARTIFACTS (default: a temp folder).
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCleanups } from '../../helpers/cleanup.js';
import { removeContainers, runContainer, waitExit } from '../../helpers/docker.js';
import { waitFor } from '../../helpers/kafka-read.js';
import { scopedUp, type Up } from '../../helpers/up-process.js';

const CHROMIUM = process.env.SHIPLOG_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = process.env.SHIPLOG_TEST_ARTIFACTS ?? join(tmpdir(), 'shiplog-test-artifacts');
const cleanups: (() => Promise<void> | void)[] = [];
let browser: Browser;
let u: Up;
let scope: { labels: Record<string, string> };

beforeAll(async () => {
  mkdirSync(join(ARTIFACTS, 'screenshots'), { recursive: true });
  ({ u, scope } = await scopedUp(cleanups, 'shiplog-web-', { SHIPLOG_STATS_INTERVAL: '1s', SHIPLOG_BATCH_LINGER: '200ms' }));
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  cleanups.push(() => browser.close());
}, 120_000);

/** Exceptions and console errors of the pages opened by a test: none is expected. */
const pageErrors: string[] = [];
afterEach(() => {
  expect(pageErrors.splice(0), 'errors in the page').toEqual([]);
});

afterAll(async () => {
  await runCleanups(cleanups);
});

async function open(hash: string, p?: Page): Promise<Page> {
  const page = p ?? (await browser.newPage());
  if (!p) {
    const errors = pageErrors;
    page.on('pageerror', (e) => errors.push(String(e)));
    // Console errors too: a Content-Security-Policy violation shows only there.
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    cleanups.push(() => page.close().catch(() => undefined));
    await page.setViewport({ width: 1280, height: 720 });
  }
  await page.goto(`${u.url}/${hash}`);
  await page.waitForSelector('#app header');
  return page;
}

/** The lines of the list in view (the list renders only the rows on screen). */
const viewLines = (page: Page) => page.evaluate(() => (window as unknown as { shiplogView?: { lines(): string[] } }).shiplogView?.lines() ?? []);
const viewCursors = (page: Page) => page.evaluate(() => (window as unknown as { shiplogView?: { cursors(): string[] } }).shiplogView?.cursors() ?? []);

async function container(script: string, name?: string) {
  const c = await runContainer({ script, labels: scope.labels, name });
  cleanups.push(() => removeContainers([c.id]));
  return c;
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: join(ARTIFACTS, 'screenshots', `${name}.png`) });
}

describe('the web page', () => {
  it('Live shows a new line, with ANSI colours rendered, a 1 MiB line without freezing, stderr marked', async () => {
    const page = await open('#/live?container=web-live-*');
    const c = await container(
      `sleep 2; echo 'first {"level":"warn","msg":"json"}'; printf '\\033[31mred alert\\033[0m plain\\n'; head -c 1048576 /dev/zero | tr '\\0' 'x'; echo; echo 'on stderr' >&2; echo last`,
      `web-live-${Date.now()}`,
    );
    await page.waitForFunction(() => (window as unknown as { shiplogView: { lines(): string[] } }).shiplogView.lines().includes('last'), { timeout: 30_000 });
    const lines = await viewLines(page);
    expect(lines.filter((l) => l.startsWith('first'))).toHaveLength(1);
    expect(lines.find((l) => l.length === 1_048_576)).toBeDefined();
    // Colours as styles, never the escape codes as text.
    const red = await page.$$eval('.row .msg span[style]', (els) => els.map((e) => [e.textContent, e.getAttribute('style')]));
    expect(red.find(([t]) => t === 'red alert')?.[1]).toMatch(/color: ?(#c33|rgb\(204, 51, 51\))/);
    expect(await page.$eval('.loglist', (e) => e.textContent?.includes('\u001b['))).toBe(false);
    expect(await page.$$eval('.row.stderr .msg', (els) => els.map((e) => e.textContent))).toContain('on stderr');
    // Still responsive: a click on the 1 MiB row opens its detail, cut to what a page can show.
    const t0 = Date.now();
    await page.evaluate(() => {
      const rows = [...document.querySelectorAll<HTMLElement>('.row')];
      rows.find((r) => (r.textContent ?? '').includes('more characters'))?.click();
    });
    await page.waitForSelector('.detail');
    expect(Date.now() - t0).toBeLessThan(20_000);
    await shot(page, 'live');
    await waitExit(c.id);
  });

  it('pause for 10 s under ~200 lines/s, then resume: every line once, in order', async () => {
    const name = `web-pause-${Date.now()}`;
    const page = await open(`#/live?container=${name}`);
    const N = 4000;
    const c = await container(`i=0; while [ $i -lt ${N} ]; do i=$((i+1)); echo "seq $i"; [ $((i % 20)) = 0 ] && sleep 0.1; done`, name);
    await page.waitForFunction(() => (window as unknown as { shiplogView: { count(): number } }).shiplogView.count() > 0, { timeout: 30_000 });
    await page.click('.filters button[title="p"]');
    const atPause = (await viewLines(page)).length;
    await new Promise((r) => setTimeout(r, 10_000));
    // Paused: the view did not move, the lines wait.
    expect((await viewLines(page)).length).toBe(atPause);
    expect(await page.$eval('.filters button[title="p"]', (b) => b.textContent)).toMatch(/Resume \(\d+ waiting\)/);
    await page.click('.filters button[title="p"]');
    await waitExit(c.id);
    await page.waitForFunction((n) => (window as unknown as { shiplogView: { lines(): string[] } }).shiplogView.lines().includes(`seq ${n}`), { timeout: 60_000 }, N);
    const got = (await viewLines(page)).filter((l) => l.startsWith('seq '));
    expect(got).toEqual(Array.from({ length: N }, (_, i) => `seq ${i + 1}`));
  });

  it('Search: 5,000 matches scrolled to the end show each once; level filter and a histogram zoom agree with the API', async () => {
    const name = `web-search-${Date.now()}`;
    const c = await container(`i=0; while [ $i -lt 5000 ]; do i=$((i+1)); if [ $((i % 10)) = 0 ]; then echo "{\\"level\\":\\"error\\",\\"msg\\":\\"needle $i\\"}"; else echo "needle $i"; fi; done; echo done`, name);
    await waitExit(c.id);
    await waitFor(async () => ((await (await fetch(`${u.url}/api/v1/logs?container=${name}&q=done&since=1h`)).json()) as { data: unknown[] }).data.length === 1, 30_000, 'the lines stored');
    const page = await open(`#/search?container=${name}&q=needle&since=1h`);
    await page.waitForSelector('.row');
    // Scroll to the end, page after page, until the list says it has everything.
    for (let i = 0; i < 200; i++) {
      const done = await page.$eval('.list-foot', (e) => e.textContent ?? '');
      if (done.includes('all shown')) break;
      await page.$eval('.loglist', (e) => e.scrollTo(0, e.scrollHeight));
      await new Promise((r) => setTimeout(r, 150));
    }
    const lines = await viewLines(page);
    expect(lines).toHaveLength(5000);
    expect(new Set(await viewCursors(page)).size).toBe(5000);
    expect(new Set(lines.map((l) => /needle (\d+)/.exec(l)?.[1])).size).toBe(5000);
    await shot(page, 'search');

    // Errors only, then zoom into part of the histogram by dragging across it.
    await page.select('select[name="level"]', 'error');
    await page.waitForFunction(() => (window as unknown as { shiplogView: { count(): number } }).shiplogView.count() === 500, { timeout: 30_000 });
    const box = await page.$eval('.histogram canvas', (e) => {
      const r = e.getBoundingClientRect();
      return { x: r.left, y: r.top, w: r.width, h: r.height };
    });
    await page.mouse.move(box.x + box.w * 0.02, box.y + box.h / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.w * 0.99, box.y + box.h / 2, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction(() => location.hash.includes('until='), { timeout: 10_000 });
    const params = new URLSearchParams((await page.evaluate(() => location.hash)).split('?')[1]);
    await page.waitForFunction(() => document.querySelector('.list-foot')?.textContent?.includes('all shown'), { timeout: 30_000 });
    const api: string[] = [];
    let cursor: string | null = '';
    do {
      const q = new URLSearchParams({ container: name, q: 'needle', min_level: 'error', since: params.get('since') as string, until: params.get('until') as string, limit: '1000' });
      if (cursor) q.set('cursor', cursor);
      const page_ = (await (await fetch(`${u.url}/api/v1/logs?${q}`)).json()) as { data: { message: string }[]; next_cursor: string | null };
      api.push(...page_.data.map((l) => l.message));
      cursor = page_.next_cursor;
    } while (cursor);
    expect(await viewLines(page)).toEqual(api);
    expect(api.length).toBeGreaterThan(0);
    await shot(page, 'search-zoomed');

    // The same search as whole words (through the word index): "needle" is a word of every hit.
    await page.select('select[name="match"]', 'words');
    await page.waitForFunction(() => location.hash.includes('words=1'), { timeout: 10_000 });
    await page.waitForFunction(() => document.querySelector('.list-foot')?.textContent?.includes('all shown'), { timeout: 30_000 });
    expect(await viewLines(page)).toEqual(api);

    // The context of one hit: the lines just before and after it in its container.
    // A locator, not page.click: the virtual list may redraw its rows between finding one and
    // clicking it (seen under load: "Node is detached from document"); a locator finds it again.
    await page.locator('.row:nth-child(20)').click();
    await page.locator('.detail button').click();
    await page.waitForFunction(() => location.hash.includes('context='));
    await page.waitForFunction(() => (window as unknown as { shiplogView: { count(): number } }).shiplogView.count() >= 21, { timeout: 30_000 });
    const ctx = await viewLines(page);
    const hit = await page.$eval('.row.selected .msg', (e) => e.textContent ?? '');
    const n = Number(/needle (\d+)/.exec(hit)?.[1]);
    const at = ctx.findIndex((l) => l.includes(`needle ${n}"`) || l === `needle ${n}`);
    expect(ctx[at - 1]).toContain(`needle ${n - 1}`);
    expect(ctx[at + 1]).toContain(`needle ${n + 1}`);
    await shot(page, 'context');
  });

  it("a container's page: exit code 3 of one that exited, a CPU chart of a busy one", async () => {
    const exited = await container('echo bye; exit 3', `web-exit-${Date.now()}`);
    expect(await waitExit(exited.id)).toBe(3);
    const busy = await container('while true; do :; done', `web-busy-${Date.now()}`);
    await waitFor(async () => {
      const r = (await (await fetch(`${u.url}/api/v1/containers/${busy.id}/stats?since=5m`)).json()) as { buckets: { cpu_cores?: number }[] };
      return r.buckets.some((b) => (b.cpu_cores ?? 0) > 0);
    }, 60_000, 'CPU samples of the busy container');
    const page = await open('#/containers');
    await page.waitForFunction((n) => document.querySelector('table.containers')?.textContent?.includes(n), { timeout: 30_000 }, exited.name);
    await shot(page, 'containers');
    await open(`#/container/${exited.id}`, page);
    await page.waitForFunction(() => document.querySelector('.page-head')?.textContent?.includes('exit code 3'), { timeout: 30_000 });
    await open(`#/container/${busy.id}?range=15m`, page);
    await page.waitForSelector('.chart canvas');
    // uPlot draws the series on its canvas: some pixels of the CPU line's colour.
    await waitFor(
      async () =>
        page.$eval('.chart canvas', (cv) => {
          const c = cv as HTMLCanvasElement;
          const d = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray();
          // #39c, give or take antialiasing.
          for (let i = 0; i < d.length; i += 4) if (Math.abs((d[i] as number) - 0x33) < 40 && Math.abs((d[i + 1] as number) - 0x99) < 40 && Math.abs((d[i + 2] as number) - 0xcc) < 40 && (d[i + 3] as number) > 128) return true;
          return false;
        }),
      15_000,
      'the CPU line drawn',
    );
    await shot(page, 'container');
  });
});

describe('the web page with SHIPLOG_API_TOKEN', () => {
  it('asks for the token, refuses a wrong one, opens with the right one', async () => {
    const { u: guarded } = await scopedUp(cleanups, 'shiplog-web-token-', { SHIPLOG_API_TOKEN: 'right-t0ken' });
    const page = await browser.newPage();
    cleanups.push(() => page.close());
    await page.goto(`${guarded.url}/#/containers`);
    await page.waitForSelector('form.token input[name="token"]', { timeout: 30_000 });
    await page.type('form.token input[name="token"]', 'wrong');
    await page.click('form.token button[type="submit"]');
    await page.waitForFunction(() => document.querySelector('form.token')?.textContent?.includes('refused'));
    await page.screenshot({ path: join(ARTIFACTS, 'screenshots', 'token.png') });
    await page.$eval('form.token input[name="token"]', (e) => ((e as HTMLInputElement).value = ''));
    await page.type('form.token input[name="token"]', 'right-t0ken');
    await page.click('form.token button[type="submit"]');
    await page.waitForSelector('table.containers', { timeout: 30_000 });
    expect(await page.$('form.token')).toBeNull();
    // Kept for this tab's session only.
    expect(await page.evaluate(() => [sessionStorage.getItem('shiplog.token'), localStorage.getItem('shiplog.token')])).toEqual(['right-t0ken', null]);
  });
});
