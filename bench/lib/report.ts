import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';

export const SECTION_START = '<!-- forward-bench:start -->';
export const SECTION_END = '<!-- forward-bench:end -->';
const RESULTS_START = '<!-- forward-bench:results:start -->';
const RESULTS_END = '<!-- forward-bench:results:end -->';

export function machine(): string {
  const model = cpus()[0]?.model.trim() || 'unknown CPU';
  return `${cpus().length} × ${model}, Node ${process.version}, ${process.platform}`;
}

/**
 * Puts `results` between the results markers inside this benchmark's section of the doc, keeping the
 * hand-written text around them; creates the section (and the file) when missing. Nothing outside
 * `<!-- forward-bench:start -->` … `<!-- forward-bench:end -->` is touched.
 */
export function writeResults(path: string, results: string): void {
  const block = `${RESULTS_START}\n${results.trim()}\n${RESULTS_END}`;
  let text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const start = text.indexOf(SECTION_START);
  const end = text.indexOf(SECTION_END);
  if (start < 0 || end < start) {
    text = `${text.trimEnd()}\n\n${SECTION_START}\n## Forwarding: \`npm run bench\`\n\n${block}\n${SECTION_END}\n`;
  } else {
    const section = text.slice(start, end);
    const rs = section.indexOf(RESULTS_START);
    const re = section.indexOf(RESULTS_END);
    const updated = rs >= 0 && re > rs ? section.slice(0, rs) + block + section.slice(re + RESULTS_END.length) : `${section.trimEnd()}\n\n${block}\n`;
    text = text.slice(0, start) + updated + text.slice(end);
  }
  writeFileSync(path, text);
}
