import { readdirSync, readFileSync } from 'node:fs';
import { expect, test } from 'vitest';

test('webhooks/ imports nothing of sfu/, signaling/, turn/, cluster/ or server/ (server/ wires it)', () => {
  const dir = new URL('../../../webhooks/', import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  expect(files.length).toBeGreaterThan(5);
  for (const file of files) {
    const imports = [...readFileSync(new URL(file, dir), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    expect(imports.filter((path) => path.startsWith('..')), file).toEqual([]);
  }
});
