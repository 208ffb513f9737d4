/**
 * The log list of Live, Search and a container's page: virtualised (only the rows in view are
 * in the DOM, so 100 k lines scroll as easily as 100), one fixed-height row per line — time,
 * container in its colour, level, stream, the first line of the message with its ANSI colours —
 * and the whole line, JSON pretty-printed, in the detail pane when a row is clicked.
 * `follow` keeps the bottom in view; scrolling up calls onScrollAway.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ansiRuns, stripAnsi } from './ansi.js';
import type { Line } from './api.js';
import { colourOf, formatTime, jsonOf, ROW_CHARS } from './format.js';

export const ROW_HEIGHT = 20;
const OVERSCAN = 15;

export function Message({ text, limit = ROW_CHARS }: { text: string; limit?: number }) {
  const cut = text.length > limit ? text.slice(0, limit) : text;
  const runs = ansiRuns(cut);
  return (
    <>
      {runs.map((r, i) => (r.style ? <span key={i} style={r.style}>{r.text}</span> : r.text))}
      {text.length > limit ? <span class="more">… {(text.length - limit).toLocaleString()} more characters</span> : null}
    </>
  );
}

function Row({ line, top, selected, onClick, showContainer }: { line: Line; top: number; selected: boolean; onClick: () => void; showContainer: boolean }) {
  const nl = line.message.indexOf('\n');
  const first = nl >= 0 ? line.message.slice(0, nl) : line.message;
  const extra = nl >= 0 ? line.message.split('\n').length - 1 : 0;
  return (
    <div class={`row ${line.stream === 'stderr' ? 'stderr' : ''} ${selected ? 'selected' : ''}`} style={{ top: `${top}px` }} onClick={onClick} data-cursor={line.cursor}>
      <span class="ts">{formatTime(line.timestamp, false)}</span>
      {showContainer ? (
        <span class="ctr" style={{ color: colourOf(line.container_name) }} title={`${line.container_name}@${line.host}`}>
          {line.container_name}
        </span>
      ) : null}
      <span class={`lvl lvl-${line.level || 'unknown'}`}>{line.level && line.level !== 'unknown' ? line.level.slice(0, 4) : ''}</span>
      <span class="msg">
        <Message text={first} />
        {extra ? <span class="badge">+{extra} lines</span> : null}
        {line.attributes['log.split'] === 'true' ? <span class="badge">partial</span> : null}
      </span>
    </div>
  );
}

export interface LogListProps {
  lines: Line[];
  /** Bumped when `lines` changed in place (appends). */
  version: number;
  follow?: boolean;
  onScrollAway?: () => void;
  onNearEnd?: () => void;
  onSelect?: (line: Line | undefined) => void;
  selected?: Line;
  showContainer?: boolean;
  empty?: string;
  /** Brings this row to the middle of the view once. */
  scrollTo?: number;
}

export function LogList(p: LogListProps) {
  const box = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 600 });
  const programmatic = useRef(false);

  useLayoutEffect(() => {
    const el = box.current;
    if (!el || !p.follow) return;
    programmatic.current = true;
    el.scrollTop = el.scrollHeight;
    setView({ top: el.scrollTop, height: el.clientHeight });
  }, [p.version, p.follow, p.lines.length]);

  useLayoutEffect(() => {
    const el = box.current;
    if (!el || p.scrollTo === undefined || p.scrollTo < 0) return;
    el.scrollTop = Math.max(0, p.scrollTo * ROW_HEIGHT - el.clientHeight / 2);
    setView({ top: el.scrollTop, height: el.clientHeight });
  }, [p.scrollTo]);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const resize = new ResizeObserver(() => setView({ top: el.scrollTop, height: el.clientHeight }));
    resize.observe(el);
    return () => resize.disconnect();
  }, []);

  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    setView({ top: el.scrollTop, height: el.clientHeight });
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < ROW_HEIGHT * 2;
    if (programmatic.current) {
      programmatic.current = false;
    } else if (!atBottom && p.follow) p.onScrollAway?.();
    if (el.scrollHeight - el.scrollTop - el.clientHeight < ROW_HEIGHT * 50) p.onNearEnd?.();
  };

  const n = p.lines.length;
  const from = Math.max(0, Math.floor(view.top / ROW_HEIGHT) - OVERSCAN);
  const to = Math.min(n, Math.ceil((view.top + view.height) / ROW_HEIGHT) + OVERSCAN);
  const rows = [];
  for (let i = from; i < to; i++) {
    const line = p.lines[i] as Line;
    rows.push(<Row key={line.cursor} line={line} top={i * ROW_HEIGHT} selected={p.selected === line} showContainer={p.showContainer !== false} onClick={() => p.onSelect?.(p.selected === line ? undefined : line)} />);
  }
  return (
    <div class="loglist" ref={box} onScroll={onScroll} tabIndex={0}>
      {n === 0 && p.empty ? <div class="empty">{p.empty}</div> : null}
      <div class="spacer" style={{ height: `${n * ROW_HEIGHT}px` }}>
        {rows}
      </div>
    </div>
  );
}

/** The selected line in full: message (JSON pretty-printed), fields, attributes. */
export function LineDetail({ line, onClose, onContext }: { line: Line; onClose: () => void; onContext?: () => void }) {
  const json = jsonOf(stripAnsi(line.message));
  const [all, setAll] = useState(false);
  const limit = all ? Infinity : 100_000;
  return (
    <div class="detail">
      <div class="detail-head">
        <b style={{ color: colourOf(line.container_name) }}>{line.container_name}</b>@{line.host} · {formatTime(line.timestamp)} · {line.stream} · {line.level}
        <span class="grow" />
        {onContext ? <button onClick={onContext}>Show context</button> : null}
        <button onClick={() => navigator.clipboard?.writeText(stripAnsi(line.message))}>Copy</button>
        <button onClick={onClose} title="Esc">✕</button>
      </div>
      <pre class="detail-msg">{json ? JSON.stringify(json, null, 2) : <Message text={line.message} limit={limit} />}</pre>
      {!all && !json && line.message.length > limit ? <button onClick={() => setAll(true)}>Show all {line.message.length.toLocaleString()} characters</button> : null}
      <table class="attrs">
        <tbody>
          {[['image', line.image], ['service', line.service], ['container id', line.container_id], ...Object.entries(line.attributes)].map(([k, v]) => (
            <tr key={k}>
              <td>{k}</td>
              <td>{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
