import { readFileSync } from 'node:fs';

/** Words of PromQL that are not metric names (aggregations, operators, modifiers). */
const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects: label matchers, string literals, ranges, grouping clauses and
 * function calls removed first, so that label names (`by (instance, le)`) and functions (`rate(`) are not taken.
 */
export function promqlMetricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w:.$])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    if (match[2] !== undefined || KEYWORDS.has(match[1].toLowerCase())) continue;
    names.add(match[1]);
  }
  return [...names];
}

/** Every `expr` of a Prometheus rules file: inline (`expr: up == 0`) or a block scalar (`expr: |`). */
export function ruleExpressions(path: string): string[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const exprs: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)expr:\s*(.*)$/.exec(lines[i]);
    if (!m) continue;
    if (!/^[|>]/.test(m[2])) {
      exprs.push(m[2]);
      continue;
    }
    const block: string[] = [];
    for (; i + 1 < lines.length && (lines[i + 1].trim() === '' || indent(lines[i + 1]) > m[1].length); i++) block.push(lines[i + 1]);
    exprs.push(block.join('\n'));
  }
  return exprs;
}

/** Every query of a Grafana dashboard: panel targets (rows' nested panels too) and `label_values(metric, label)` variables. */
export function dashboardExpressions(path: string): string[] {
  const dashboard = JSON.parse(readFileSync(path, 'utf8')) as {
    panels: { targets?: { expr: string }[]; panels?: { targets?: { expr: string }[] }[] }[];
    templating: { list: { query?: string | { query: string } }[] };
  };
  const exprs: string[] = [];
  for (const panel of dashboard.panels) for (const p of [panel, ...(panel.panels ?? [])]) for (const t of p.targets ?? []) exprs.push(t.expr);
  for (const variable of dashboard.templating.list) {
    const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
    const m = query && /^label_values\(\s*([^,]+),/.exec(query);
    if (m) exprs.push(m[1]);
  }
  return exprs;
}

function indent(line: string): number {
  return line.length - line.trimStart().length;
}
