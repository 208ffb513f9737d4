/**
 * Live: every container's lines (or a chosen set's) as they are stored, from the API's live
 * tail. Follows the bottom until the user scrolls up; pause keeps every line that arrives and
 * shows them on resume; the filter box narrows what is shown as you type.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { stripAnsi } from './ansi.js';
import { followTail, type Line } from './api.js';
import { Filters, type FilterValues } from './filters.js';
import { LineDetail, LogList } from './log-list.js';
import { href, navigate } from './route.js';
import { exposeLines, needToken } from './state.js';

/** Lines kept in the page; older ones leave the view (Search still has them). */
export const MAX_LIVE_LINES = 100_000;

export function Live({ params }: { params: Record<string, string> }) {
  const buffer = useRef<Line[]>([]);
  const pending = useRef<Line[]>([]);
  const [version, setVersion] = useState(0);
  const [paused, setPaused] = useState(false);
  const pausedRef = useRef(false);
  const [follow, setFollow] = useState(true);
  const [state, setState] = useState('connecting');
  const [dropped, setDropped] = useState(0);
  const [selected, setSelected] = useState<Line>();
  const [text, setText] = useState(params.filter ?? '');
  const seenAtFollow = useRef(0);

  const server = { container: params.container, host: params.host, service: params.service, label: params.label, min_level: params.level, stream: params.stream };
  const key = JSON.stringify(server);

  useEffect(() => {
    buffer.current = [];
    pending.current = [];
    setDropped(0);
    setVersion((v) => v + 1);
    const ac = new AbortController();
    const append = (lines: Line[]) => {
      const b = buffer.current;
      for (const l of lines) b.push(l);
      if (b.length > MAX_LIVE_LINES) {
        const cut = b.length - MAX_LIVE_LINES;
        b.splice(0, cut);
        setDropped((d) => d + cut);
      }
      setVersion((v) => v + 1);
    };
    void followTail(
      { ...server, backlog: 200 },
      {
        onLines: (lines) => (pausedRef.current ? pending.current.push(...lines) : append(lines)),
        onState: (s, detail) => setState(detail ? `${s}: ${detail}` : s),
        onUnauthorized: () => needToken.set(true),
      },
      ac.signal,
    );
    return () => ac.abort();
  }, [key]);

  const setPause = (p: boolean) => {
    pausedRef.current = p;
    setPaused(p);
    if (!p) {
      const waiting = pending.current.splice(0);
      if (waiting.length) {
        buffer.current.push(...waiting);
        setVersion((v) => v + 1);
      }
      setFollow(true);
    }
  };

  const shown = useMemo(() => {
    if (!text) return buffer.current;
    const t = text.toLowerCase();
    return buffer.current.filter((l) => stripAnsi(l.message).toLowerCase().includes(t) || l.container_name.toLowerCase().includes(t));
  }, [version, text]);
  exposeLines(shown);
  if (follow) seenAtFollow.current = shown.length;
  const unseen = follow ? 0 : shown.length - seenAtFollow.current;

  const setServer = (v: FilterValues) => navigate(href('live', { ...params, ...v }), true);
  return (
    <div class="view">
      <Filters values={params} onChange={setServer} fields={['container', 'host', 'service', 'label', 'level', 'stream']}>
        <input
          id="q"
          class="grow"
          placeholder="Filter as you type  ( / )"
          value={text}
          onInput={(e) => {
            const v = (e.target as HTMLInputElement).value;
            setText(v);
            // In the URL too (replacing, not a history entry per key), so the view can be shared.
            history.replaceState(null, '', href('live', { ...params, filter: v || undefined }));
          }}
        />
        <button onClick={() => setPause(!paused)} class={paused ? 'on' : ''} title="p">
          {paused ? `Resume (${pending.current.length} waiting)` : 'Pause'}
        </button>
        <span class={`status ${state === 'live' ? 'ok' : ''}`}>{paused ? 'paused' : state}</span>
      </Filters>
      {dropped ? <div class="notice">{dropped.toLocaleString()} older lines left the view; Search has them.</div> : null}
      <LogList
        lines={shown}
        version={version}
        follow={follow && !paused}
        onScrollAway={() => setFollow(false)}
        onSelect={setSelected}
        selected={selected}
        empty={state === 'live' ? 'Waiting for lines…' : 'Connecting…'}
      />
      {!follow && !paused ? (
        <button class="follow" onClick={() => setFollow(true)}>
          ↓ Follow{unseen > 0 ? ` (${unseen} new)` : ''}
        </button>
      ) : null}
      {selected ? (
        <LineDetail
          line={selected}
          onClose={() => setSelected(undefined)}
          onContext={() => navigate(href('search', { container: selected.container_name, host: selected.host, context: selected.cursor, since: '7d' }))}
        />
      ) : null}
    </div>
  );
}
