// Summaries of repeated measurements: the median says what is typical, min/max and
// p99 (nearest rank, so with few samples it is the max) say how far runs spread.
export interface Spread {
  n: number;
  median: number;
  p99: number;
  min: number;
  max: number;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function spread(values: number[]): Spread {
  return {
    n: values.length,
    median: percentile(values, 50),
    p99: percentile(values, 99),
    min: Math.min(...values),
    max: Math.max(...values),
  };
}

/** Ratios of paired samples (product_i / baseline_i), so each pair shares the same moment's noise. */
export function pairedRatios(product: number[], baseline: number[]): number[] {
  return product.map((value, i) => value / baseline[i]);
}

export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
