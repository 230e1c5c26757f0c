import { appendFileSync } from 'node:fs';

/**
 * Records one measurement of a shaped-link scenario: printed, and appended as `name: value` to the file named by
 * TSFU_BWE_REPORT when set, which is how `npm run bench:bwe` (bench/bwe.ts) collects what the tests measured.
 */
export function reportMeasurement(name: string, value: number | string): void {
  console.log(`${name}: ${value}`);
  const file = process.env.TSFU_BWE_REPORT;
  if (file) appendFileSync(file, `${name}: ${value}\n`);
}
