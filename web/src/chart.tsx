/** A time-series chart (uPlot: small, canvas, fast) of one or more series over shared times. */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useUtc } from './format.js';

export interface Series {
  label: string;
  colour: string;
  values: (number | null)[];
  fill?: boolean;
}

export function Chart({ title, times, series, format }: { title: string; times: number[]; series: Series[]; format: (v: number) => string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    // Canvas strokes cannot read CSS variables: take the theme's colours as they are now.
    const css = getComputedStyle(document.documentElement);
    const dim = css.getPropertyValue('--dim').trim() || '#888';
    const grid = css.getPropertyValue('--grid').trim() || '#eee';
    const plot = new uPlot(
      {
        width: el.clientWidth,
        height: 180,
        tzDate: (ts) => (useUtc() ? uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC') : new Date(ts * 1000)),
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.colour, fill: s.fill ? `${s.colour}22` : undefined, width: 1.5, spanGaps: false, points: { show: true, size: 4 }, value: (_u: uPlot, v: number | null) => (v === null ? '–' : format(v)) }))],
        axes: [{ stroke: dim, grid: { stroke: grid }, ticks: { stroke: grid } }, { stroke: dim, grid: { stroke: grid }, ticks: { stroke: grid }, size: 70, values: (_u, vals) => vals.map(format) }],
        scales: { y: { range: (_u, _min, max) => [0, Math.max(max, 1e-9) * 1.1] } },
        legend: { live: true },
      },
      [times, ...series.map((s) => s.values)] as uPlot.AlignedData,
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height: 180 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [times, series]);
  return (
    <div class="chart">
      <div class="chart-title">{title}</div>
      <div ref={box} />
    </div>
  );
}
