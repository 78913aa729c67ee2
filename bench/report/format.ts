// Number formats shared by the Markdown report and the console summary.
import type { Spread } from '../lib/stats';

export const MiB = 2 ** 20;

export function s(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

export function ms(value: number): string {
  return `${Math.round(value)} ms`;
}

export function x(value: number): string {
  return `${value.toFixed(2)}×`;
}

export function pct(value: number): string {
  return `${Math.round(value * 100)}%`;
}

export function mib(bytes: number): string {
  return `${Math.round(bytes / MiB)} MiB`;
}

/** "median [min–max]" in the given unit. */
export function range(spread: Spread, unit: (v: number) => string): string {
  return `${unit(spread.median)} [${unit(spread.min)}–${unit(spread.max)}]`;
}
