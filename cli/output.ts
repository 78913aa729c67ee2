// Everything the CLI prints on stdout: exact JSON for scripts, tables and
// "key: value" lines for people. Commands decide what to print, not how.
import Table from 'cli-table3';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(text: string): void {
  process.stdout.write(`${text}\n`);
}

export function printTable(head: string[], rows: Array<Array<string | number>>, empty: string): void {
  if (rows.length === 0) return printLine(empty);
  const table = new Table({ head, style: { head: [], border: [], compact: true } });
  table.push(...rows);
  printLine(table.toString());
}

/** Aligned "key: value" lines; undefined values are left out. */
export function printFields(fields: Array<[string, string | number | undefined | null]>): void {
  const shown = fields.filter((f): f is [string, string | number] => f[1] !== undefined && f[1] !== null);
  const width = Math.max(...shown.map(([key]) => key.length)) + 1;
  for (const [key, value] of shown) printLine(`${`${key}:`.padEnd(width)} ${value}`);
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}
