import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const DIR = fileURLToPath(new URL('../../../deploy/prometheus/', import.meta.url));

/** Runs promtool in deploy/prometheus; a missing promtool fails with how to install it (no skip). */
function promtool(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd: DIR, encoding: 'utf8' });
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

  test('the scrape example is a valid configuration (promtool check config)', () => {
    const { status, output } = promtool('check', 'config', 'prometheus.yml');
    expect(status, output).toBe(0);
  });
});
