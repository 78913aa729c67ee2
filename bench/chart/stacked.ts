// Horizontal stacked bars: one bar per subject (a move, a shard size), split into the
// parts its time went to, so "where does the time go" reads left to right.
import type { TopLevelSpec } from 'vega-lite';
import { heading, legendColumns, PALETTE, WIDTH } from './vega';

export interface StackedChart {
  title: string;
  subtitle?: string;
  partNames: string[];
  bars: { label: string; parts: number[] }[];
  xLabel: string;
  format?: (value: number) => string;
}

export function stackedSpec(chart: StackedChart): TopLevelSpec {
  const format = chart.format ?? ((v: number) => String(Number(v.toPrecision(4))));
  const labels = chart.bars.map((b) => b.label);
  const parts = chart.bars.flatMap((bar) =>
    bar.parts.flatMap((value, p) => (value > 0 ? [{ bar: bar.label, part: chart.partNames[p], order: p, value, tip: `${bar.label} — ${chart.partNames[p]}: ${format(value)}` }] : [])),
  );
  const totals = chart.bars.map((bar) => {
    const total = bar.parts.reduce((a, v) => a + Math.max(0, v), 0);
    return { bar: bar.label, total, label: format(total) };
  });
  const y = { field: 'bar', type: 'nominal', sort: labels, title: null, axis: { labelFontSize: 12, labelLimit: 0, ticks: false } } as const;
  return {
    title: heading(chart.title, chart.subtitle),
    width: WIDTH - 230,
    height: { step: 46 },
    layer: [
      {
        data: { values: parts },
        mark: { type: 'bar' },
        encoding: {
          y,
          x: { field: 'value', type: 'quantitative', stack: 'zero', title: chart.xLabel },
          color: { field: 'part', type: 'nominal', scale: { domain: chart.partNames, range: PALETTE }, legend: { columns: legendColumns(chart.partNames) } },
          order: { field: 'order', type: 'quantitative' },
          description: { field: 'tip' },
        },
      },
      {
        data: { values: totals },
        mark: { type: 'text', align: 'left', dx: 6, fontSize: 11, color: '#222', aria: false },
        encoding: { y, x: { field: 'total', type: 'quantitative', title: chart.xLabel }, text: { field: 'label' } },
      },
    ],
    config: { scale: { bandPaddingInner: 0.35 } },
  } as TopLevelSpec;
}
