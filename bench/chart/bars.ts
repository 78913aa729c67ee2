// Grouped vertical bars: one group per category (a shard size, a worker count), one
// bar per series, the bar at the median and a whisker from min to max, so a reader
// sees both the typical value and how far repeated runs spread.
import { compact, document, mark, GRID, INK, legend, line, linearScale, logScale, PALETTE, rect, text, type Scale } from './svg';

export interface BarValue {
  value: number;
  low?: number;
  high?: number;
}

export interface BarChart {
  title: string;
  subtitle?: string;
  categories: string[];
  series: { name: string; values: (BarValue | null)[] }[];
  yLabel: string;
  log?: boolean;
  /** Horizontal reference lines, e.g. a target. */
  marks?: { value: number; label: string }[];
  format?: (value: number) => string;
}

const W = 760;
const H = 420;
const PAD = { left: 70, right: 20, top: 64, bottom: 70 };

export function barChart(spec: BarChart): string {
  const format = spec.format ?? compact;
  const all = spec.series.flatMap((s) => s.values.flatMap((v) => (v ? [v.value, v.high ?? v.value, v.low ?? v.value] : [])));
  const marks = spec.marks ?? [];
  const top = Math.max(...all, ...marks.map((m) => m.value)) * 1.08;
  const bottomPx = H - PAD.bottom;
  const y: Scale = spec.log
    ? logScale(Math.min(...all.filter((v) => v > 0)), top, bottomPx, PAD.top)
    : linearScale(top, bottomPx, PAD.top);
  const body: string[] = [];
  for (const tick of y.ticks) {
    body.push(line(PAD.left, y(tick), W - PAD.right, y(tick), GRID));
    body.push(text(PAD.left - 6, y(tick) + 4, compact(tick), { 'text-anchor': 'end', 'font-size': 11 }));
  }
  body.push(text(16, (PAD.top + bottomPx) / 2, spec.yLabel, { transform: `rotate(-90 16 ${(PAD.top + bottomPx) / 2})`, 'text-anchor': 'middle', dy: 4 }));

  const groupWidth = (W - PAD.left - PAD.right) / spec.categories.length;
  const barWidth = Math.min(56, (groupWidth * 0.8) / spec.series.length);
  spec.categories.forEach((category, g) => {
    const groupLeft = PAD.left + g * groupWidth + (groupWidth - barWidth * spec.series.length) / 2;
    body.push(text(PAD.left + (g + 0.5) * groupWidth, bottomPx + 18, category, { 'text-anchor': 'middle' }));
    spec.series.forEach((series, s) => {
      const v = series.values[g];
      if (!v || !(v.value > 0 || !spec.log)) return;
      const x = groupLeft + s * barWidth;
      const color = PALETTE[s % PALETTE.length];
      body.push(rect(x + 2, y(v.value), barWidth - 4, bottomPx - y(v.value), color, `${series.name}, ${category}: ${format(v.value)}`));
      if (v.low !== undefined && v.high !== undefined) {
        const cx = x + barWidth / 2;
        body.push(line(cx, y(v.low), cx, y(v.high), INK, 'stroke-width="1.2"'));
        body.push(line(cx - 5, y(v.high), cx + 5, y(v.high), INK, 'stroke-width="1.2"'));
        body.push(line(cx - 5, y(v.low), cx + 5, y(v.low), INK, 'stroke-width="1.2"'));
      }
      const labelY = Math.min(y(v.value), v.high !== undefined ? y(v.high) : Infinity) - 5;
      body.push(text(x + barWidth / 2, labelY, format(v.value), { 'text-anchor': 'middle', 'font-size': 10 }));
    });
  });
  // Alternate label ends so close marks (1× and 1.25×) stay readable.
  marks.forEach((m, i) => body.push(...mark(PAD.left, W - PAD.right, y(m.value), m.label, i % 2 === 0 ? 'left' : 'right')));
  body.push(line(PAD.left, bottomPx, W - PAD.right, bottomPx, INK));
  body.push(...legend(PAD.left, H - 18, spec.series.map((s) => s.name), PALETTE));
  return document(W, H, spec.title, spec.subtitle, body);
}
