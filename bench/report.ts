import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

export function machine(): Record<string, string | number> {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Prints the rows as a table and writes them, with the machine, to bench/results/<name>-<date>.json. */
export function report(name: string, rows: Record<string, string | number>[], details: Record<string, unknown> = {}): string {
  console.table(rows);
  mkdirSync(RESULTS, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const file = join(RESULTS, `${name}-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify({ name, date: new Date().toISOString(), machine: machine(), rows, ...details }, null, 2)}\n`);
  console.log(`results written to ${file}`);
  return file;
}
