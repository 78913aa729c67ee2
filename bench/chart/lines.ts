// A line chart of one or more series over time (memory while a shard is copied), with
// horizontal marks for targets.
import { compact, document, mark, GRID, INK, legend, line, linearScale, PALETTE, text, r } from './svg';

export interface LineChart {
  title: string;
  subtitle?: string;
  series: { name: string; points: [number, number][] }[];
  xLabel: string;
  yLabel: string;
  marks?: { value: number; label: string }[];
}

const W = 760;
const H = 400;
const PAD = { left: 70, right: 20, top: 64, bottom: 70 };

export function lineChart(spec: LineChart): string {
  const xs = spec.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = spec.series.flatMap((s) => s.points.map((p) => p[1]));
  const marks = spec.marks ?? [];
  const x = linearScale(Math.max(...xs), PAD.left, W - PAD.right, 8);
  const y = linearScale(Math.max(...ys, ...marks.map((m) => m.value)) * 1.08, H - PAD.bottom, PAD.top);
  const body: string[] = [];
  for (const tick of y.ticks) {
    body.push(line(PAD.left, y(tick), W - PAD.right, y(tick), GRID));
    body.push(text(PAD.left - 6, y(tick) + 4, compact(tick), { 'text-anchor': 'end', 'font-size': 11 }));
  }
  for (const tick of x.ticks) body.push(text(x(tick), H - PAD.bottom + 16, compact(tick), { 'text-anchor': 'middle', 'font-size': 11 }));
  body.push(text((PAD.left + W - PAD.right) / 2, H - PAD.bottom + 34, spec.xLabel, { 'text-anchor': 'middle' }));
  body.push(text(16, (PAD.top + H - PAD.bottom) / 2, spec.yLabel, { transform: `rotate(-90 16 ${(PAD.top + H - PAD.bottom) / 2})`, 'text-anchor': 'middle', dy: 4 }));
  spec.series.forEach((series, s) => {
    const d = series.points.map(([px, py], i) => `${i === 0 ? 'M' : 'L'}${r(x(px))} ${r(y(py))}`).join(' ');
    body.push(`<path d="${d}" fill="none" stroke="${PALETTE[s % PALETTE.length]}" stroke-width="2"/>`);
  });
  // Alternate label ends so close marks (1× and 1.25×) stay readable.
  marks.forEach((m, i) => body.push(...mark(PAD.left, W - PAD.right, y(m.value), m.label, i % 2 === 0 ? 'left' : 'right')));
  body.push(line(PAD.left, H - PAD.bottom, W - PAD.right, H - PAD.bottom, INK));
  body.push(...legend(PAD.left, H - 14, spec.series.map((s) => s.name), PALETTE));
  return document(W, H, spec.title, spec.subtitle, body);
}
