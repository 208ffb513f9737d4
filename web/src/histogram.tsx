/**
 * Matching lines per interval, stacked by level, on a canvas; drag across it to zoom into that
 * time range (onZoom gets the range; the caller puts it in the URL).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Histogram as Data } from './api.js';
import { formatTime } from './format.js';

const LEVEL_ORDER = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'unknown'];
export const LEVEL_COLOURS: Record<string, string> = { fatal: '#a0a', error: '#d33', warn: '#e90', info: '#39c', debug: '#999', trace: '#bbb', unknown: '#7a8' };

export function Histogram({ data, onZoom }: { data: Data | undefined; onZoom: (from: string, to: string) => void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [drag, setDrag] = useState<{ a: number; b: number }>();
  const [hover, setHover] = useState<number>();

  useEffect(() => {
    const c = canvas.current;
    if (!c || !data) return;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth;
    const h = c.clientHeight;
    c.width = w * dpr;
    c.height = h * dpr;
    const g = c.getContext('2d');
    if (!g) return;
    g.scale(dpr, dpr);
    g.clearRect(0, 0, w, h);
    const n = data.buckets.length;
    const max = Math.max(1, ...data.buckets.map((b) => b.total));
    const bw = w / Math.max(1, n);
    data.buckets.forEach((b, i) => {
      let y = h;
      for (const level of LEVEL_ORDER) {
        const v = b.levels[level];
        if (!v) continue;
        const bh = (v / max) * (h - 4);
        g.fillStyle = LEVEL_COLOURS[level] as string;
        g.fillRect(i * bw + 0.5, y - bh, Math.max(1, bw - 1), bh);
        y -= bh;
      }
    });
    if (drag) {
      g.fillStyle = 'rgba(100,150,255,.25)';
      g.fillRect(Math.min(drag.a, drag.b), 0, Math.abs(drag.b - drag.a), h);
    }
  }, [data, drag]);

  if (!data) return <div class="histogram loading" />;
  const total = data.buckets.reduce((s, b) => s + b.total, 0);
  const at = (x: number) => {
    const c = canvas.current as HTMLCanvasElement;
    const i = Math.min(data.buckets.length - 1, Math.max(0, Math.floor((x / c.clientWidth) * data.buckets.length)));
    return i;
  };
  const x = (e: MouseEvent) => e.clientX - (canvas.current as HTMLCanvasElement).getBoundingClientRect().left;
  const hb = hover !== undefined ? data.buckets[hover] : undefined;
  return (
    <div class="histogram">
      <canvas
        ref={canvas}
        onMouseDown={(e) => setDrag({ a: x(e), b: x(e) })}
        onMouseMove={(e) => {
          setHover(at(x(e)));
          if (drag) setDrag({ ...drag, b: x(e) });
        }}
        onMouseLeave={() => setHover(undefined)}
        onMouseUp={(e) => {
          if (!drag) return;
          const [a, b] = [drag.a, x(e)].sort((p, q) => p - q) as [number, number];
          setDrag(undefined);
          if (b - a < 3) return;
          const i = at(a);
          const j = at(b);
          const from = data.buckets[i]?.time as string;
          const to = new Date(Date.parse(data.buckets[j]?.time as string) + data.interval_seconds * 1000).toISOString();
          onZoom(from, to);
        }}
      />
      <div class="histogram-legend">
        <span>
          {total.toLocaleString()} lines · {data.interval_seconds}s buckets · drag to zoom
        </span>
        {hb ? (
          <span>
            {formatTime(hb.time)}: {hb.total.toLocaleString()}{' '}
            {Object.entries(hb.levels)
              .map(([l, v]) => `${l} ${v}`)
              .join(', ')}
          </span>
        ) : null}
      </div>
    </div>
  );
}
