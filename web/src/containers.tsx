/** Containers: every container seen, across hosts, like `docker ps -a` with history; a row opens its page. */
import { useEffect, useState } from 'preact/hooks';
import { getJson, query, Unauthorized, type Container } from './api.js';
import { ago, bytes, colourOf, count, formatTime } from './format.js';
import { href, navigate } from './route.js';
import { needToken } from './state.js';

const WINDOWS = ['1h', '24h', '7d', '30d'];

export function Containers({ params }: { params: Record<string, string> }) {
  const since = params.since ?? '24h';
  const [list, setList] = useState<Container[]>();
  const [error, setError] = useState('');
  const [filter, setFilter] = useState('');
  useEffect(() => {
    const c = new AbortController();
    const load = () =>
      getJson<{ data: Container[] }>(`/api/v1/containers${query({ since })}`, c.signal).then(
        (r) => setList(r.data),
        (err) => (err instanceof Unauthorized ? needToken.set(true) : (err as Error).name !== 'AbortError' && setError((err as Error).message)),
      );
    void load();
    const t = setInterval(load, 10_000);
    return () => {
      clearInterval(t);
      c.abort();
    };
  }, [since]);
  const shown = (list ?? []).filter((c) => !filter || `${c.name} ${c.host} ${c.image} ${c.state}`.toLowerCase().includes(filter.toLowerCase()));
  return (
    <div class="view">
      <div class="filters">
        <input id="q" class="grow" placeholder="Filter containers  ( / )" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
        <select value={since} onChange={(e) => navigate(href('containers', { since: (e.target as HTMLSelectElement).value }), true)}>
          {WINDOWS.map((w) => (
            <option key={w} value={w}>
              seen in the last {w}
            </option>
          ))}
        </select>
      </div>
      {error ? <div class="notice error">{error}</div> : null}
      <div class="table-wrap">
        <table class="containers">
          <thead>
            <tr>
              <th>name</th>
              <th>host</th>
              <th>state</th>
              <th>image</th>
              <th class="num">lines</th>
              <th class="num">bytes</th>
              <th>last line</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((c) => (
              <tr key={`${c.host}/${c.id}`} onClick={() => navigate(href('container', { host: c.host }, c.id))}>
                <td>
                  <a href={href('container', { host: c.host }, c.id)} style={{ color: colourOf(c.name) }}>
                    {c.name}
                  </a>
                </td>
                <td>{c.host}</td>
                <td>
                  <span class={`state state-${c.state}`}>{c.state}</span>
                  {c.exit_code !== undefined ? <span class={`exit ${c.exit_code ? 'bad' : ''}`}>exit {c.exit_code}</span> : null}
                  {c.health ? <span class={`health health-${c.health}`}>{c.health}</span> : null}
                  {c.restarts ? <span class="dim" title="restarts seen in the window"> ↻ {c.restarts}</span> : null}
                </td>
                <td class="dim">{c.image}</td>
                <td class="num">{count(c.log_lines)}</td>
                <td class="num">{bytes(c.log_bytes)}</td>
                <td title={c.last_log ? formatTime(c.last_log) : ''}>{ago(c.last_log)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {list && shown.length === 0 ? <div class="empty">No container seen in the last {since}.</div> : null}
        {!list && !error ? <div class="empty">Loading…</div> : null}
      </div>
    </div>
  );
}
