// A line chart of one or more series over time (memory while a shard is copied), with
// horizontal reference lines for targets.
import type { TopLevelSpec } from 'vega-lite';
import { heading, legendColumns, PALETTE, referenceLayers, WIDTH, type Reference } from './vega';

export interface LineChart {
  title: string;
  subtitle?: string;
  series: { name: string; points: [number, number][] }[];
  xLabel: string;
  yLabel: string;
  marks?: Reference[];
}

export function lineSpec(chart: LineChart): TopLevelSpec {
  const names = chart.series.map((s) => s.name);
  const points = chart.series.flatMap((s) => s.points.map(([x, y], i) => ({ series: s.name, i, x, y })));
  return {
    title: heading(chart.title, chart.subtitle),
    width: WIDTH - 110,
    height: 260,
    layer: [
      {
        data: { values: points },
        mark: { type: 'line', strokeWidth: 2, aria: false },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: chart.xLabel, scale: { nice: true } },
          y: { field: 'y', type: 'quantitative', title: chart.yLabel },
          color: { field: 'series', type: 'nominal', scale: { domain: names, range: PALETTE }, legend: { columns: legendColumns(names), symbolType: 'stroke', symbolStrokeWidth: 2 } },
          order: { field: 'i', type: 'quantitative' },
        },
      },
      ...referenceLayers(chart.marks ?? []),
    ],
  } as TopLevelSpec;
}
