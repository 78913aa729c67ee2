// Horizontal stacked bars: one bar per subject (a move, a shard size), split into the
// parts its time went to, so "where does the time go" reads left to right.
import { compact, document, GRID, INK, legend, legendRows, line, linearScale, PALETTE, rect, text } from './svg';

export interface StackedChart {
  title: string;
  subtitle?: string;
  partNames: string[];
  bars: { label: string; parts: number[] }[];
  xLabel: string;
  format?: (value: number) => string;
}

const W = 760;
const PAD = { left: 150, right: 70, top: 64, bottom: 76 };
const BAR = 30;
const GAP = 16;

export function stackedChart(spec: StackedChart): string {
  const format = spec.format ?? compact;
  const extraRows = legendRows(spec.partNames) - 1;
  const H = PAD.top + PAD.bottom + extraRows * 16 + spec.bars.length * (BAR + GAP);
  const totals = spec.bars.map((b) => b.parts.reduce((a, v) => a + Math.max(0, v), 0));
  const x = linearScale(Math.max(...totals) * 1.05, PAD.left, W - PAD.right, 6);
  const axisY = H - PAD.bottom - extraRows * 16 + 4;
  const body: string[] = [];
  for (const tick of x.ticks) {
    body.push(line(x(tick), PAD.top - 6, x(tick), axisY, GRID));
    body.push(text(x(tick), axisY + 16, compact(tick), { 'text-anchor': 'middle', 'font-size': 11 }));
  }
  body.push(text((PAD.left + W - PAD.right) / 2, axisY + 34, spec.xLabel, { 'text-anchor': 'middle' }));
  spec.bars.forEach((bar, i) => {
    const top = PAD.top + i * (BAR + GAP);
    body.push(text(PAD.left - 8, top + BAR / 2 + 4, bar.label, { 'text-anchor': 'end' }));
    let cursor = 0;
    bar.parts.forEach((value, p) => {
      if (!(value > 0)) return;
      const name = spec.partNames[p];
      body.push(rect(x(cursor), top, x(cursor + value) - x(cursor), BAR, PALETTE[p % PALETTE.length], `${bar.label} — ${name}: ${format(value)}`));
      cursor += value;
    });
    body.push(text(x(cursor) + 6, top + BAR / 2 + 4, format(totals[i]), { 'font-size': 11 }));
  });
  body.push(line(PAD.left, PAD.top - 6, PAD.left, axisY, INK));
  body.push(...legend(16, H - 14 - extraRows * 16, spec.partNames, PALETTE));
  return document(W, H, spec.title, spec.subtitle, body);
}
