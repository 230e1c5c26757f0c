// Bundles the browser SDK and the classroom demo into dist/client/ (served at `/` by the server):
//   dist/client/tsfu-sdk.js   client/sdk/index.ts, ESM, with sfu/session/data-envelope.ts bundled in
//   dist/client/demo.js       client/demo/demo.ts; imports the SDK from ./tsfu-sdk.js instead of bundling a copy
//   dist/client/index.html, demo.css
// Run by `npm run build` after tsc. Typecheck the client separately: `npx tsc -p client/tsconfig.json`.
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist', 'client');

/** @type {import('esbuild').BuildOptions} */
const common = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  sourcemap: true,
  logLevel: 'warning',
  absWorkingDir: root,
};

/** The demo uses the served SDK file, so the page and a test's `import('/tsfu-sdk.js')` share one module. */
const sdkAsExternal = {
  name: 'sdk-as-external',
  setup(b) {
    b.onResolve({ filter: /\/sdk\/index\.js$/ }, () => ({ path: './tsfu-sdk.js', external: true }));
  },
};

await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });
await Promise.all([
  build({ ...common, entryPoints: ['client/sdk/index.ts'], outfile: join(outDir, 'tsfu-sdk.js') }),
  build({ ...common, entryPoints: ['client/demo/demo.ts'], outfile: join(outDir, 'demo.js'), plugins: [sdkAsExternal] }),
  ...['index.html', 'demo.css'].map((file) => copyFile(join(root, 'client', 'demo', file), join(outDir, file))),
]);
console.log(`client built into ${outDir}`);
