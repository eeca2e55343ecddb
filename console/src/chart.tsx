import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** A bar-like line of counts per bucket; x in seconds since the epoch (uPlot shows the browser's zone). */
export function CountChart({ xs, ys, label }: { xs: number[]; ys: number[]; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const accent = getComputedStyle(document.documentElement).getPropertyValue('--accent').trim() || '#1f5fbf';
    const axis = getComputedStyle(document.documentElement).getPropertyValue('--muted').trim() || '#5a6470';
    const plot = new uPlot(
      {
        width: Math.max(300, el.clientWidth),
        height: 200,
        series: [{}, { label, stroke: accent, fill: `${accent}33`, paths: uPlot.paths.stepped?.({ align: 1 }) }],
        axes: [
          { stroke: axis, grid: { stroke: `${axis}33` } },
          { stroke: axis, grid: { stroke: `${axis}33` } },
        ],
        legend: { show: true },
      },
      [xs, ys],
      el,
    );
    return () => plot.destroy();
  }, [xs, ys, label]);
  return <div ref={box} class="chart" role="img" aria-label={`${label} over time`} />;
}
