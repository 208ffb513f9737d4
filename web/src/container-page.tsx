/**
 * One container: its state, exit code and health; CPU and memory over a range from the stored
 * stats; its lifecycle events; its lines (newest first, paged) with links to Live and Search.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { getJson, query, Unauthorized, type Container, type ContainerEvent, type Line, type Page, type StatsBucket } from './api.js';
import { Chart } from './chart.js';
import { ago, bytes, colourOf, formatTime } from './format.js';
import { LineDetail, LogList } from './log-list.js';
import { href, navigate } from './route.js';
import { exposeLines, needToken } from './state.js';

const RANGES = ['15m', '1h', '6h', '24h', '7d'];

export function ContainerPage({ id, params }: { id: string; params: Record<string, string> }) {
  const range = params.range ?? '1h';
  const [info, setInfo] = useState<Container>();
  const [stats, setStats] = useState<StatsBucket[]>();
  const [events, setEvents] = useState<ContainerEvent[]>();
  const [error, setError] = useState('');
  const lines = useRef<Line[]>([]);
  const next = useRef<string | null>('');
  const busy = useRef(false);
  const [version, setVersion] = useState(0);
  const [selected, setSelected] = useState<Line>();

  const fail = (err: unknown) => {
    if (err instanceof Unauthorized) needToken.set(true);
    else if ((err as Error).name !== 'AbortError') setError((err as Error).message);
  };

  useEffect(() => {
    const c = new AbortController();
    void getJson<{ data: Container[] }>(`/api/v1/containers${query({ since: '30d', host: params.host })}`, c.signal).then((r) => setInfo(r.data.find((x) => x.id === id) ?? r.data.find((x) => x.id.startsWith(id))), fail);
    void getJson<{ data: ContainerEvent[] }>(`/api/v1/containers/${id}/events?since=30d`, c.signal).then((r) => setEvents(r.data), fail);
    return () => c.abort();
  }, [id]);

  useEffect(() => {
    const c = new AbortController();
    void getJson<{ buckets: StatsBucket[] }>(`/api/v1/containers/${id}/stats${query({ since: range })}`, c.signal).then((r) => setStats(r.buckets), fail);
    return () => c.abort();
  }, [id, range]);

  const loadMore = async () => {
    if (!info || busy.current || next.current === null) return;
    busy.current = true;
    try {
      const page = await getJson<Page>(`/api/v1/logs${query({ container: info.name, host: info.host, since: '30d', limit: 500, cursor: next.current || undefined })}`);
      lines.current.push(...page.data.filter((l) => l.container_id === info.id));
      next.current = page.next_cursor;
      setVersion((v) => v + 1);
    } catch (err) {
      fail(err);
    } finally {
      busy.current = false;
    }
  };
  useEffect(() => {
    lines.current = [];
    next.current = '';
    void loadMore();
  }, [info?.id]);
  exposeLines(lines.current);

  const charts = useMemo(() => {
    if (!stats) return undefined;
    const times = stats.map((b) => Date.parse(b.time) / 1000);
    return {
      times,
      cpu: [{ label: 'CPU', colour: '#39c', fill: true, values: stats.map((b) => b.cpu_cores ?? null) }],
      mem: [
        { label: 'working set', colour: '#3a3', fill: true, values: stats.map((b) => b.memory_bytes ?? null) },
        { label: 'peak', colour: '#e90', values: stats.map((b) => b.memory_max_bytes ?? null) },
      ],
    };
  }, [stats]);

  const name = info?.name ?? id.slice(0, 12);
  return (
    <div class="view scroll">
      <div class="page-head">
        <a href="#/containers">Containers</a> ›{' '}
        <b style={{ color: colourOf(name) }} class="title">
          {name}
        </b>
        {info ? (
          <>
            <span class={`state state-${info.state}`}>{info.state}</span>
            {info.exit_code !== undefined ? <span class={`exit ${info.exit_code ? 'bad' : ''}`}>exit code {info.exit_code}</span> : null}
            {info.health ? <span class={`health health-${info.health}`}>{info.health}</span> : null}
            {info.restarts ? <span class="dim">restarted {info.restarts}×</span> : null}
            <span class="dim">
              {info.image} · {info.host} · {id.slice(0, 12)} · {info.log_lines.toLocaleString()} lines, {bytes(info.log_bytes)} · last line {ago(info.last_log)}
            </span>
          </>
        ) : null}
        <span class="grow" />
        {info ? (
          <>
            <a class="button" href={href('live', { container: info.name, host: info.host })}>
              Live
            </a>
            <a class="button" href={href('search', { container: info.name, host: info.host, since: '24h' })}>
              Search
            </a>
          </>
        ) : null}
      </div>
      {error ? <div class="notice error">{error}</div> : null}
      <div class="filters">
        {RANGES.map((r) => (
          <button key={r} class={r === range ? 'on' : ''} onClick={() => navigate(href('container', { ...params, range: r }, id), true)}>
            {r}
          </button>
        ))}
      </div>
      {charts ? (
        <div class="charts">
          <Chart title="CPU (cores)" times={charts.times} series={charts.cpu} format={(v) => (v < 0.1 ? v.toFixed(3) : v.toFixed(2))} />
          <Chart title="Memory (working set)" times={charts.times} series={charts.mem} format={(v) => bytes(v)} />
        </div>
      ) : (
        <div class="empty">Loading stats…</div>
      )}
      <h3>Lifecycle</h3>
      <div class="events">
        {(events ?? []).slice(-50).reverse().map((e, i) => (
          <div key={i} class="event">
            <span class="ts">{formatTime(e.time)}</span> <b>{e.action}</b>
            {e.exit_code !== undefined ? <span class={`exit ${e.exit_code ? 'bad' : ''}`}>exit code {e.exit_code}</span> : null}
          </div>
        ))}
        {events && events.length === 0 ? <div class="dim">No lifecycle event stored in the last 30 days.</div> : null}
      </div>
      <h3>Lines</h3>
      <div class="container-lines">
        <LogList lines={lines.current} version={version} onNearEnd={() => void loadMore()} onSelect={setSelected} selected={selected} showContainer={false} empty="No line stored." />
      </div>
      {selected ? <LineDetail line={selected} onClose={() => setSelected(undefined)} onContext={() => navigate(href('search', { container: selected.container_name, host: selected.host, context: selected.cursor, since: '30d' }))} /> : null}
    </div>
  );
}
