// SVG building blocks shared by the chart kinds: escaping, text, scales with "nice"
// ticks (linear and log), a colour-blind-safe palette. Output is plain SVG 1.1 text
// that GitHub and browsers render without scripts or external fonts.

export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#999999', '#882255', '#44AA99', '#332288', '#DDCC77', '#117733'];
export const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
export const INK = '#222';
export const GRID = '#e3e3e3';
export const TARGET = '#C00000';

export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function text(x: number, y: number, content: string, attrs: Record<string, string | number> = {}): string {
  const extra = Object.entries({ 'font-size': 12, fill: INK, ...attrs }).map(([k, v]) => `${k}="${esc(String(v))}"`).join(' ');
  return `<text x="${r(x)}" y="${r(y)}" ${extra}>${esc(content)}</text>`;
}

export function line(x1: number, y1: number, x2: number, y2: number, stroke: string, attrs = ''): string {
  return `<line x1="${r(x1)}" y1="${r(y1)}" x2="${r(x2)}" y2="${r(y2)}" stroke="${stroke}" ${attrs}/>`;
}

export function rect(x: number, y: number, w: number, h: number, fill: string, title?: string): string {
  const tip = title ? `<title>${esc(title)}</title>` : '';
  return `<rect x="${r(x)}" y="${r(y)}" width="${r(Math.max(0, w))}" height="${r(Math.max(0, h))}" fill="${fill}">${tip}</rect>`;
}

export function document(width: number, height: number, title: string, subtitle: string | undefined, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `<title>${esc(title)}</title>`,
    rect(0, 0, width, height, '#ffffff'),
    text(16, 24, title, { 'font-size': 15, 'font-weight': 600 }),
    ...wrap(subtitle ?? '', Math.floor((width - 32) / 5.6)).map((part, i) => text(16, 41 + i * 13, part, { 'font-size': 11, fill: '#555' })),
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

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

/** A dashed horizontal mark (a target, a baseline) with its label at the left or right end. */
export function mark(left: number, right: number, y: number, label: string, at: 'left' | 'right'): string[] {
  return [
    line(left, y, right, y, TARGET, 'stroke-dasharray="6 4" stroke-width="1.5"'),
    text(at === 'left' ? left + 4 : right - 4, y - 5, label, { 'text-anchor': at === 'left' ? 'start' : 'end', 'font-size': 11, fill: TARGET }),
  ];
}

/** Rounds coordinates so the files stay small and diff cleanly. */
export function r(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/** Maps data values to pixels along one axis. */
export interface Scale {
  (value: number): number;
  ticks: number[];
}

export function linearScale(max: number, pixelsFrom: number, pixelsTo: number, tickCount = 5): Scale {
  const step = niceStep((max || 1) / tickCount);
  const top = Math.ceil((max || 1) / step) * step;
  const scale = ((value: number) => pixelsFrom + (value / top) * (pixelsTo - pixelsFrom)) as Scale;
  scale.ticks = Array.from({ length: Math.round(top / step) + 1 }, (_, i) => round(i * step));
  return scale;
}

export function logScale(min: number, max: number, pixelsFrom: number, pixelsTo: number): Scale {
  const lo = Math.floor(Math.log10(Math.max(min, 1e-9)));
  const hi = Math.ceil(Math.log10(Math.max(max, min * 10)));
  const scale = ((value: number) => pixelsFrom + ((Math.log10(Math.max(value, 10 ** lo)) - lo) / (hi - lo)) * (pixelsTo - pixelsFrom)) as Scale;
  scale.ticks = [];
  for (let p = lo; p <= hi; p++) {
    for (const m of [1, 2, 5]) if (p < hi || m === 1) scale.ticks.push(round(m * 10 ** p));
  }
  return scale;
}

function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10) * power;
}

function round(value: number): number {
  return Number(value.toPrecision(6));
}

/** Short tick labels: 1500 → "1.5k", 0.25 → "0.25". */
export function compact(value: number): string {
  if (value >= 1e6) return `${round(value / 1e6)}M`;
  if (value >= 1e4) return `${round(value / 1e3)}k`;
  return String(round(value));
}

/** Legend swatches, wrapping onto more rows past `width`; returns the elements and the rows used. */
export function legend(x: number, y: number, names: string[], colors: string[], width = 720): string[] {
  let cursor = x;
  let row = y;
  const out: string[] = [];
  names.forEach((name, i) => {
    const size = 24 + name.length * 6.2;
    if (cursor + size > x + width && cursor > x) {
      cursor = x;
      row += 16;
    }
    out.push(rect(cursor, row - 9, 10, 10, colors[i % colors.length]));
    out.push(text(cursor + 14, row, name, { 'font-size': 11 }));
    cursor += size;
  });
  return out;
}

/** How many legend rows `legend` will use for these names. */
export function legendRows(names: string[], width = 720): number {
  let cursor = 0;
  let rows = 1;
  for (const name of names) {
    const size = 24 + name.length * 6.2;
    if (cursor + size > width && cursor > 0) {
      cursor = 0;
      rows++;
    }
    cursor += size;
  }
  return rows;
}
