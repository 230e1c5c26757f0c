import { appendFileSync } from 'node:fs';

/**
 * Records one measurement of a test scenario: printed, and appended as `name: value` to the file named by
 * TSFU_BENCH_REPORT when set, which is how the benchmarks that run tests (`npm run bench:bwe`, `bench:cluster`)
 * collect what the tests measured.
 */
export function reportMeasurement(name: string, value: number | string): void {
  console.log(`${name}: ${value}`);
  const file = process.env.TSFU_BENCH_REPORT;
  if (file) appendFileSync(file, `${name}: ${value}\n`);
}
