/**
 * The web page's figures, in headless Chromium (Debian's package, puppeteer-core) against the
 * API over an embedded store holding BENCH_ROWS realistic lines (default 10,000,000) spread over
 * two days:
 *   - search: from opening a search URL to the histogram drawn and the first row shown, beside
 *     the same two API calls made directly (the same-run reference);
 *   - live: from opening Live to its first row (the tail's backlog);
 *   - 100 k lines arriving in Live: all in the list, the page's JS heap, and the time to jump
 *     to the top of the list and draw it;
 *   - the JavaScript and CSS shipped, raw and gzipped.
 * Usage: node dist/bench/ui.js   (SHIPLOG_CHROMIUM: the browser, default /usr/bin/chromium)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import puppeteer, { type Page } from 'puppeteer-core';
import type { LogRecord } from '../lib/records.js';
import { build } from '../collector/http/app.js';
import { RowEncoder } from '../collector/ingest/encode-rows.js';
import { ChdbStore } from '../collector/store/chdb-store.js';
import { migrate } from '../collector/store/migrate.js';
import { LOG_INSERT_COLUMNS } from '../collector/store/schema.js';
import { createLogger } from '../lib/logger.js';
import { storeRealistic } from './gen/realistic-logs.js';
import { root, runScenarios, saveResult, type BenchEnv } from './lib/env.js';

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] as number;
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const round = (n: number) => Number(n.toFixed(1));

async function ui(env: BenchEnv): Promise<void> {
  const rows = Number(process.env.BENCH_ROWS ?? 10_000_000);
  // BENCH_UI_DATA: a folder kept between runs (the 10 M rows take minutes to load).
  const store = new ChdbStore(join(process.env.BENCH_UI_DATA ?? env.tmp('bench-ui-'), 'chdb'));
  await migrate(store, { database: 'shiplog', retentionDays: 30 }, createLogger('bench', 'silent'));
  const stored = Number((await store.query<{ n: string }>("SELECT toString(count()) AS n FROM shiplog.otel_logs WHERE ServiceName != 'flood'"))[0]?.n ?? 0);
  const loadSec = stored >= rows ? 0 : await storeRealistic(store, rows, 'payment gateway said needle-7f3a9c');
  await store.exec('OPTIMIZE TABLE shiplog.otel_logs FINAL');
  const app = build({ registry: new Registry(), store, status: () => ({ consuming: true, storage: 'up', storageKind: 'chdb' }) });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const browser = await puppeteer.launch({ executablePath: process.env.SHIPLOG_CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 720 });

    const searches: Record<string, unknown> = {};
    for (const [name, params, api] of [
      ['needle, 2 days', 'q=needle-7f3a9c&since=2d', 'q=needle-7f3a9c&since=2d'],
      ['everything, last hour', 'since=1h', 'since=1h'],
      ['one container, 24 h', 'container=api-1&since=24h', 'container=api-1&since=24h'],
    ] as const) {
      const page_: number[] = [];
      const direct: number[] = [];
      let failed = '';
      for (let i = 0; i < 5; i++) {
        // From a blank tab: the page itself loads too, as when a link is opened.
        await page.goto('about:blank');
        const s = process.hrtime.bigint();
        await page.goto(`${url}/#/search?${params}&n=${i}`);
        // Done: the histogram drawn and the first row shown, or an error shown.
        await page.waitForFunction("(document.querySelector('.histogram-legend')?.textContent?.includes('lines') && document.querySelector('.row')) || document.querySelector('.notice.error')", { timeout: 120_000 });
        page_.push(ms(s));
        failed = (await page.evaluate("document.querySelector('.notice.error')?.textContent ?? ''")) as string;
        const d = process.hrtime.bigint();
        const statuses = await Promise.all([fetch(`${url}/api/v1/logs/histogram?${api}`), fetch(`${url}/api/v1/logs?${api}&limit=500`)].map((p) => p.then(async (r) => (await r.arrayBuffer(), r.status))));
        direct.push(ms(d));
        if (statuses.some((st) => st !== 200)) failed ||= `API answered ${statuses.join(', ')}`;
      }
      searches[name] = { pageMedianMs: round(median(page_)), apiMedianMs: round(median(direct)), ...(failed ? { failed } : {}) };
      console.log(name, searches[name]);
    }

    // Live: first row shown (the tail's backlog of stored lines).
    const live: number[] = [];
    for (let i = 0; i < 5; i++) {
      await page.goto('about:blank');
      const s = process.hrtime.bigint();
      await page.goto(`${url}/#/live?n=${i}`);
      await page.waitForSelector('.row', { timeout: 30_000 });
      live.push(ms(s));
    }

    // 100 k new lines while Live follows.
    await page.goto(`${url}/#/live?container=flood`);
    await page.waitForFunction("document.querySelector('.status')?.textContent === 'live'", { timeout: 30_000 });
    const N = 100_000;
    await store.exec("DELETE FROM shiplog.otel_logs WHERE ServiceName = 'flood'");
    const start = Date.now();
    for (let b = 0; b < N / 10_000; b++) {
      const lines: LogRecord['lines'] = [];
      for (let i = 0; i < 10_000; i++) {
        const t = new Date(start + b * 100 + Math.floor(i / 100)).toISOString();
        lines.push({ ts: `${t.slice(0, 23)}${String(i % 100).padStart(6, '0')}Z`, stream: 'stdout', msg: `flood ${b * 10_000 + i} ${'x'.repeat(80)}` });
      }
      const rec: LogRecord = { v: 1, type: 'logs', host: 'bench', container: { id: 'f'.repeat(64), name: 'flood', image: 'flood', labels: {} }, lines, cursor: {} };
      const enc = new RowEncoder();
      enc.add(rec, { topic: 'shiplog.logs', partition: 1, offset: String(b) });
      await store.insertTsv('otel_logs', LOG_INSERT_COLUMNS, enc.take(), `flood-${start}-${b}`);
    }
    const fs = process.hrtime.bigint();
    await page.waitForFunction(`shiplogView.count() >= ${N}`, { timeout: 300_000, polling: 500 });
    const arrivedSec = ms(fs) / 1000;
    const inList = (await page.evaluate('shiplogView.count()')) as number;
    const heap = await heapMiB(page);
    const jump = process.hrtime.bigint();
    await page.evaluate("new Promise((resolve) => { document.querySelector('.loglist').scrollTop = 0; requestAnimationFrame(() => requestAnimationFrame(resolve)); })");
    const jumpMs = ms(jump);

    // One new line at a time on a quiet stream: from its insert (the collector's commit) to the
    // row in Live. Add the pipeline's own line-to-stored latency (scenario 8) for a container's line.
    await page.goto(`${url}/#/live?container=quiet`);
    await page.waitForFunction("document.querySelector('.status')?.textContent === 'live'", { timeout: 30_000 });
    const toLive: number[] = [];
    for (let i = 0; i < 10; i++) {
      const enc = new RowEncoder();
      const t = new Date().toISOString();
      enc.add({ v: 1, type: 'logs', host: 'bench', container: { id: 'e'.repeat(64), name: 'quiet', image: 'quiet', labels: {} }, lines: [{ ts: `${t.slice(0, 23)}000000Z`, stream: 'stdout', msg: `quiet ${i}` }], cursor: {} }, { topic: 'shiplog.logs', partition: 2, offset: String(i) });
      const s = process.hrtime.bigint();
      await store.insertTsv('otel_logs', LOG_INSERT_COLUMNS, enc.take(), `quiet-${Date.now()}-${i}`);
      await page.waitForFunction(`shiplogView.lines().includes('quiet ${i}')`, { timeout: 30_000, polling: 'raf' });
      toLive.push(ms(s));
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 200));
    }
    await store.exec("DELETE FROM shiplog.otel_logs WHERE ServiceName = 'quiet'");

    const asset = (f: string) => {
      const b = readFileSync(join(root, 'dist/web/assets', f));
      return { bytes: b.length, gzipBytes: gzipSync(b, { level: 9 }).length };
    };
    const r = {
      storedLines: rows,
      loadSeconds: round(loadSec),
      search: searches,
      liveFirstRowMedianMs: round(median(live)),
      insertToLiveRowMs: { median: round(median(toLive)), max: round(Math.max(...toLive)) },
      live100k: { linesInList: inList, secondsAfterTheLastInsert: round(arrivedSec), jsHeapMiB: heap, jumpToTopAndDrawMs: round(jumpMs) },
      shipped: { 'app.js': asset('app.js'), 'app.css': asset('app.css') },
    };
    saveResult('ui', r);
    console.log(JSON.stringify(r, null, 2));
  } finally {
    await browser.close();
    await app.close();
    await store.close();
  }
}

async function heapMiB(page: Page): Promise<number> {
  const m = await page.metrics();
  return round((m.JSHeapUsedSize ?? 0) / 2 ** 20);
}

await runScenarios({ ui }, () => ({ docker: false, kafka: false }));
