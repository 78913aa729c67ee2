// Grouped vertical bars: one group per category (a shard size, a worker count), one
// bar per series, the bar at the median and a whisker from min to max, so a reader
// sees both the typical value and how far repeated runs spread.
import type { TopLevelSpec } from 'vega-lite';
import { heading, legendColumns, PALETTE, referenceLayers, WIDTH, type Reference } from './vega';

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
  marks?: Reference[];
  format?: (value: number) => string;
}

export function barSpec(chart: BarChart): TopLevelSpec {
  const format = chart.format ?? ((v: number) => String(Number(v.toPrecision(4))));
  const names = chart.series.map((s) => s.name);
  const rows = chart.series.flatMap((series) =>
    chart.categories.flatMap((category, g) => {
      const v = series.values[g];
      // A log scale has no place for zero or less: such a bar is left out.
      if (!v || (chart.log && !(v.value > 0))) return [];
      const whisker = v.low !== undefined && v.high !== undefined;
      return [{
        category,
        series: series.name,
        value: v.value,
        ...(whisker ? { low: v.low, high: v.high } : {}),
        labelAt: Math.max(v.value, whisker ? v.high! : v.value),
        label: format(v.value),
        tip: `${series.name}, ${category}: ${format(v.value)}`,
      }];
    }),
  );
  // Bars at most 56 px wide (a lone series would otherwise fill its whole group):
  // the same padding inside and outside the groups makes each group `band` wide.
  const plotWidth = WIDTH - 110;
  const band = Math.min((0.8 * plotWidth) / chart.categories.length, 56 * names.length);
  const padding = Math.min(0.9, Math.max(0.1, (plotWidth - band * chart.categories.length) / (plotWidth + band)));
  const x = {
    field: 'category',
    type: 'nominal',
    sort: chart.categories,
    title: null,
    scale: { paddingInner: padding, paddingOuter: padding },
    // Long category names (the targets chart) are slanted so they do not run into each other.
    axis: { labelAngle: chart.categories.some((c) => c.length > 14) ? -35 : 0, labelFontSize: 12, labelLimit: 0, ticks: false },
  } as const;
  const xOffset = { field: 'series', type: 'nominal', sort: names, scale: { domain: names, paddingInner: 0.08 } } as const;
  const y = {
    type: 'quantitative',
    title: chart.yLabel,
    ...(chart.log ? { scale: { type: 'log' }, axis: { values: logTicks(rows.flatMap((r) => [r.value, r.low ?? r.value, r.high ?? r.value])), format: '~s' } } : { scale: { zero: true } }),
  } as const;
  return {
    title: heading(chart.title, chart.subtitle),
    width: plotWidth,
    height: 280,
    data: { values: rows },
    layer: [
      {
        mark: { type: 'bar', cornerRadius: 0 },
        encoding: {
          x,
          xOffset,
          y: { ...y, field: 'value', stack: null },
          color: { field: 'series', type: 'nominal', scale: { domain: names, range: PALETTE }, legend: { columns: legendColumns(names) } },
          description: { field: 'tip' },
        },
      },
      {
        transform: [{ filter: 'isValid(datum.low)' }],
        mark: { type: 'rule', color: '#222', strokeWidth: 1.2, aria: false },
        encoding: { x, xOffset, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' } },
      },
      ...(['low', 'high'] as const).map((end) => ({
        transform: [{ filter: 'isValid(datum.low)' }],
        mark: { type: 'tick', color: '#222', thickness: 1.2, size: 10, orient: 'horizontal', aria: false },
        encoding: { x, xOffset, y: { field: end, type: 'quantitative' } },
      }) as const),
      {
        mark: { type: 'text', fontSize: 10, baseline: 'bottom', dy: -4, color: '#222', aria: false },
        encoding: { x, xOffset, y: { field: 'labelAt', type: 'quantitative' }, text: { field: 'label' } },
      },
      ...referenceLayers(chart.marks ?? []),
    ],
    resolve: { scale: { y: 'shared' } },
  } as TopLevelSpec;
}

/** 1, 2, 5 × each power of ten from below the smallest value to above the largest. */
function logTicks(values: number[]): number[] {
  const positive = values.filter((v) => v > 0);
  const lo = Math.floor(Math.log10(Math.min(...positive)));
  const hi = Math.ceil(Math.log10(Math.max(...positive)));
  const ticks: number[] = [];
  for (let p = lo; p <= hi; p++) for (const m of [1, 2, 5]) if (p < hi || m === 1) ticks.push(Number((m * 10 ** p).toPrecision(6)));
  return ticks;
}
