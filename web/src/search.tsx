/**
 * Search: text, whole words or RE2 regex with the filters and a time range; the histogram of matching lines
 * by level over the range (drag to zoom); the lines themselves, newest first, paged through the
 * API's exact cursors as the list is scrolled (each matching line once); a line's context (the
 * lines around it in its container). Everything is in the URL.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, getJson, query, Unauthorized, type Histogram as HistogramData, type Line, type Page } from './api.js';
import { Filters, type FilterValues } from './filters.js';
import { Histogram } from './histogram.js';
import { LineDetail, LogList } from './log-list.js';
import { href, navigate } from './route.js';
import { exposeLines, needToken } from './state.js';

const RANGES = ['15m', '1h', '6h', '24h', '7d', '30d'];
const PAGE = 500;

const localInput = (iso: string | undefined) => {
  if (!iso || !/^\d{4}-/.test(iso)) return '';
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
};

function handle(err: unknown, setError: (s: string) => void) {
  if ((err as Error).name === 'AbortError') return;
  if (err instanceof Unauthorized) needToken.set(true);
  else setError(err instanceof ApiError && err.parameter ? `${err.parameter}: ${err.message}` : (err as Error).message);
}

export function Search({ params }: { params: Record<string, string> }) {
  const since = params.since ?? '1h';
  const filters = { q: params.q, regex: params.regex === '1' ? 'true' : undefined, words: params.words === '1' && params.regex !== '1' ? 'true' : undefined, container: params.container, host: params.host, service: params.service, label: params.label, stream: params.stream, min_level: params.level, since, until: params.until };
  const key = JSON.stringify(filters);
  const lines = useRef<Line[]>([]);
  const next = useRef<string | null>(null);
  const loading = useRef(false);
  const [version, setVersion] = useState(0);
  const [hist, setHist] = useState<HistogramData>();
  const [error, setError] = useState('');
  const [selected, setSelected] = useState<Line>();
  const [done, setDone] = useState(false);
  const ac = useRef<AbortController>();
  const [q, setQ] = useState(params.q ?? '');

  const loadMore = async () => {
    if (loading.current || next.current === null || !ac.current) return;
    loading.current = true;
    try {
      const page = await getJson<Page>(`/api/v1/logs${query({ ...filters, limit: PAGE, cursor: next.current || undefined })}`, ac.current.signal);
      lines.current.push(...page.data);
      next.current = page.next_cursor;
      setDone(page.next_cursor === null);
      setVersion((v) => v + 1);
    } catch (err) {
      handle(err, setError);
    } finally {
      loading.current = false;
    }
  };

  useEffect(() => {
    if (params.context) return;
    ac.current?.abort();
    const c = new AbortController();
    ac.current = c;
    lines.current = [];
    next.current = '';
    loading.current = false;
    setError('');
    setDone(false);
    setSelected(undefined);
    setHist(undefined);
    setVersion((v) => v + 1);
    const { q: _q, ...histFilters } = filters;
    void getJson<HistogramData>(`/api/v1/logs/histogram${query({ ...histFilters, q: filters.q })}`, c.signal).then(setHist, (err) => handle(err, setError));
    void loadMore();
    return () => c.abort();
  }, [key, params.context]);

  exposeLines(lines.current);
  const set = (v: FilterValues, replace = false) => navigate(href('search', { ...params, ...v, context: undefined }), replace);
  if (params.context) return <Context params={params} />;
  return (
    <div class="view">
      <div class="filters">
        <input
          id="q"
          class="grow"
          placeholder={params.regex === '1' ? 'RE2 regular expression  ( / )' : params.words === '1' ? 'Whole words, any order and case  ( / )' : 'Text the line contains  ( / )'}
          value={q}
          onInput={(e) => setQ((e.target as HTMLInputElement).value)}
          onKeyDown={(e) => e.key === 'Enter' && set({ q: q || undefined })}
        />
        <select name="match" title="How the text matches: as it is written, as whole words (fast over long ranges: read through the word index), or as an RE2 regular expression" value={params.regex === '1' ? 'regex' : params.words === '1' ? 'words' : 'text'} onChange={(e) => {
          const m = (e.target as HTMLSelectElement).value;
          set({ regex: m === 'regex' ? '1' : undefined, words: m === 'words' ? '1' : undefined });
        }}>
          <option value="text">text</option>
          <option value="words">words</option>
          <option value="regex">regex</option>
        </select>
        <button onClick={() => set({ q: q || undefined })}>Search</button>
      </div>
      <Filters values={params} onChange={(v) => set(v)} fields={['container', 'host', 'service', 'label', 'level', 'stream']}>
        <select name="range" value={RANGES.includes(since) && !params.until ? since : 'custom'} onChange={(e) => {
          const v = (e.target as HTMLSelectElement).value;
          if (v !== 'custom') set({ since: v, until: undefined });
        }}>
          {RANGES.map((r) => (
            <option key={r} value={r}>
              last {r}
            </option>
          ))}
          <option value="custom">custom</option>
        </select>
        <input type="datetime-local" step="1" name="from" value={localInput(params.since)} onChange={(e) => set({ since: new Date((e.target as HTMLInputElement).value).toISOString() })} title="from" />
        <input type="datetime-local" step="1" name="to" value={localInput(params.until)} onChange={(e) => set({ until: new Date((e.target as HTMLInputElement).value).toISOString() })} title="to" />
      </Filters>
      {error ? <div class="notice error">{error}</div> : null}
      <Histogram data={hist} onZoom={(from, to) => set({ since: from, until: to })} />
      <LogList
        lines={lines.current}
        version={version}
        onNearEnd={() => void loadMore()}
        onSelect={setSelected}
        selected={selected}
        empty={done ? 'No line matches.' : 'Searching…'}
      />
      <div class="list-foot">{done ? `${lines.current.length.toLocaleString()} lines, all shown` : `${lines.current.length.toLocaleString()} lines so far; scroll for more`}</div>
      {selected ? <LineDetail line={selected} onClose={() => setSelected(undefined)} onContext={() => navigate(href('search', { container: selected.container_name, host: selected.host, context: selected.cursor, since: '30d' }))} /> : null}
    </div>
  );
}

/** The lines just before and after one line, in its container, oldest first, the line marked. */
function Context({ params }: { params: Record<string, string> }) {
  const [lines, setLines] = useState<Line[]>();
  const [hit, setHit] = useState<Line>();
  const [error, setError] = useState('');
  const [n, setN] = useState(20);
  useEffect(() => {
    const c = new AbortController();
    const base = { container: params.container, host: params.host, since: params.since ?? '30d', limit: n };
    void (async () => {
      try {
        const [before, after] = await Promise.all([
          getJson<Page>(`/api/v1/logs${query({ ...base, order: 'newest', cursor: params.context })}`, c.signal),
          getJson<Page>(`/api/v1/logs${query({ ...base, order: 'oldest', cursor: params.context })}`, c.signal),
        ]);
        // The line itself: the one just before the first line after it (or just after the last before it).
        const one = after.data[0]
          ? await getJson<Page>(`/api/v1/logs${query({ ...base, limit: 1, order: 'newest', cursor: after.data[0].cursor })}`, c.signal)
          : await getJson<Page>(`/api/v1/logs${query({ ...base, limit: 1, order: 'oldest', cursor: before.data[0]?.cursor })}`, c.signal);
        const h = one.data.find((l) => l.cursor === params.context);
        setHit(h);
        setLines([...before.data.reverse(), ...(h ? [h] : []), ...after.data]);
      } catch (err) {
        handle(err, setError);
      }
    })();
    return () => c.abort();
  }, [params.context, n]);
  exposeLines(lines ?? []);
  return (
    <div class="view">
      <div class="filters">
        <button onClick={() => history.back()}>← back</button>
        <b>Context</b> of a line in {params.container}@{params.host}: {n} lines before and after
        <button onClick={() => setN(n * 2)}>More</button>
      </div>
      {error ? <div class="notice error">{error}</div> : null}
      {lines ? <LogList lines={lines} version={lines.length} selected={hit} showContainer={false} scrollTo={hit ? lines.indexOf(hit) : undefined} /> : <div class="empty">Loading…</div>}
    </div>
  );
}
