// Renders the bench's charts: each chart kind (bars.ts, stacked.ts, lines.ts) builds a
// Vega-Lite spec, vega-lite compiles it to Vega and vega draws it to SVG text in Node
// (no browser, no canvas: renderer 'none' and text widths estimated). The output is
// plain SVG that GitHub and browsers show without scripts or external fonts.
import type { Config, TopLevelSpec } from 'vega-lite';

/** Colour-blind-safe, in series order. */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#999999', '#882255', '#44AA99', '#332288', '#DDCC77', '#117733'];
export const TARGET = '#C00000';
/** Outer width of every chart, in pixels. */
export const WIDTH = 760;
const FONT = 'system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif';

const CONFIG: Config = {
  font: FONT,
  background: '#ffffff',
  padding: { left: 16, right: 20, top: 12, bottom: 12 },
  view: { stroke: null },
  title: { anchor: 'start', frame: 'bounds', fontSize: 15, fontWeight: 600, color: '#222', subtitleFontSize: 11, subtitleColor: '#555', offset: 14 },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', labelColor: '#222', titleColor: '#222', gridColor: '#e3e3e3', domainColor: '#222', tickColor: '#222' },
  legend: { orient: 'bottom', direction: 'horizontal', title: null, labelFontSize: 11, labelLimit: 0, symbolType: 'square', symbolStrokeWidth: 0, columnPadding: 14, rowPadding: 4 },
};

/** A horizontal reference line: a target, a baseline. */
export interface Reference {
  value: number;
  label: string;
}

/** The chart's title with its subtitle wrapped to the chart's width. */
export function heading(title: string, subtitle?: string): TopLevelSpec['title'] {
  return { text: title, ...(subtitle ? { subtitle: wrap(subtitle, Math.floor((WIDTH - 40) / 6.2)) } : {}) };
}

/** How many legend columns fit names of this length across the chart. */
export function legendColumns(names: string[]): number {
  const widest = Math.max(...names.map((n) => n.length)) * 6.2 + 30;
  return Math.max(1, Math.min(names.length, Math.floor((WIDTH - 40) / widest)));
}

/**
 * Dashed red rules across the plot at each reference value on the y axis, labelled
 * just above the line, alternately at the left and the right end so close ones
 * (1× and 1.25×) stay readable.
 */
export function referenceLayers(refs: Reference[]): object[] {
  if (!refs.length) return [];
  const data = { values: refs.map((r, i) => ({ value: r.value, label: r.label, end: i % 2 === 0 ? 'left' : 'right' })) };
  const y = { field: 'value', type: 'quantitative' } as const;
  return [
    { data, mark: { type: 'rule', color: TARGET, strokeDash: [6, 4], strokeWidth: 1.5 }, encoding: { y } },
    { data, transform: [{ filter: "datum.end === 'left'" }], mark: { type: 'text', color: TARGET, fontSize: 11, align: 'left', baseline: 'bottom', dx: 4, dy: -3 }, encoding: { y, x: { value: 0 }, text: { field: 'label' } } },
    { data, transform: [{ filter: "datum.end === 'right'" }], mark: { type: 'text', color: TARGET, fontSize: 11, align: 'right', baseline: 'bottom', dx: -4, dy: -3 }, encoding: { y, x: { value: 'width' }, text: { field: 'label' } } },
  ];
}

type Vega = typeof import('vega');
type VegaLite = typeof import('vega-lite');
let modules: Promise<[Vega, VegaLite]> | undefined;

/** Compiles a Vega-Lite spec and draws it to SVG text. */
export async function render(spec: TopLevelSpec): Promise<string> {
  // Both packages are ES modules only (vega-canvas has a top-level await), so they are
  // loaded with import(), once, and only when a chart is drawn.
  modules ??= Promise.all([import('vega'), import('vega-lite')]).then(([vega, vl]) => {
    (vega as unknown as { textMetrics: TextMetrics }).textMetrics.width = textWidth;
    return [vega, vl];
  });
  const [vega, vl] = await modules;
  const compiled = vl.compile({ ...spec, config: { ...CONFIG, ...spec.config } } as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return `${await view.toSVG()}\n`;
  } finally {
    view.finalize();
  }
}

interface TextMetrics {
  width: (item: { fontSize?: number; fontWeight?: string | number }, text?: unknown) => number;
}

/**
 * Text width in pixels, estimated per character for a sans-serif font. Without a
 * canvas vega guesses 0.8 em for every character, which makes long titles and legend
 * labels push the chart twice as wide as it is drawn; vega leaves this hook for
 * renderers without a canvas to set.
 */
const textWidth: TextMetrics['width'] = (item, text) => {
  const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11;
  const bold = item.fontWeight === 'bold' || Number(item.fontWeight) >= 600 ? 1.06 : 1;
  let em = 0;
  for (const ch of String(text ?? '').trim()) {
    if (/[ijlI.,:;'|!()[\]{}`]/.test(ch)) em += 0.3;
    else if (/[ ftr\-]/.test(ch)) em += 0.36;
    else if (/[mwMW@%]/.test(ch)) em += 0.9;
    else if (/[A-Z]/.test(ch)) em += 0.7;
    else em += 0.61;
  }
  return Math.ceil(em * size * bold);
};

/** Splits text at spaces into lines of at most `width` characters. */
function wrap(content: string, width: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of content.split(' ').filter(Boolean)) {
    if (current && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else current = current ? `${current} ${word}` : word;
  }
  if (current) lines.push(current);
  return lines;
}
