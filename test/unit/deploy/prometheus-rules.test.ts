import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { dashboardExpressions } from '../../helpers/dashboard-queries.js';

const DIR = fileURLToPath(new URL('../../../deploy/prometheus/', import.meta.url));

/** Runs promtool in deploy/prometheus; a missing promtool fails with how to install it (no skip). */
function promtool(...args: string[]): { status: number | null; output: string } {
  return promtoolIn(DIR, ...args);
}

function promtoolIn(cwd: string, ...args: string[]): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  if (run.error) throw new Error(`promtool could not run (${run.error.message}): install the Debian package "prometheus" (scripts/ensure-test-deps.sh does)`);
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('deploy/prometheus', () => {
  test('the alert rules are valid (promtool check rules)', () => {
    const { status, output } = promtool('check', 'rules', 'tsfu.rules.yml');
    expect(output).toContain('SUCCESS');
    expect(status, output).toBe(0);
  });

  test('each alert fires for the node in trouble only, after its hold time (promtool test rules)', () => {
    const { status, output } = promtool('test', 'rules', 'tsfu.rules.test.yml');
    expect(status, output).toBe(0);
    expect(output).toContain('SUCCESS');
  });

  test("every query of the Grafana dashboard is valid PromQL (checked as recording rules, Grafana's variables filled in)", () => {
    const exprs = dashboardExpressions(fileURLToPath(new URL('../../../deploy/grafana/tsfu-dashboard.json', import.meta.url)));
    expect(exprs.length).toBeGreaterThan(20);
    const rules = exprs.map((expr, i) => ({ record: `dashboard:query_${i}`, expr: expr.replaceAll('$__rate_interval', '5m').replaceAll('$instance', '.*') }));
    const dir = mkdtempSync(join(tmpdir(), 'tsfu-dashboard-'));
    try {
      // JSON is YAML.
      writeFileSync(join(dir, 'dashboard.rules.yml'), JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));
      const { status, output } = promtoolIn(dir, 'check', 'rules', 'dashboard.rules.yml');
      expect(status, output).toBe(0);
      expect(output).toContain(`SUCCESS: ${rules.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the scrape example is a valid configuration (promtool check config)', () => {
    const { status, output } = promtool('check', 'config', 'prometheus.yml');
    expect(status, output).toBe(0);
  });
});
