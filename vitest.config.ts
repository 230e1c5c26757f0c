import { defineConfig } from 'vitest/config';

// One project per kind of test, so `npm test` runs all and a developer can run one kind quickly
// (`npx vitest run --project unit`). The machine has two cores: unit and integration files run side by side first,
// then the browser tests one file at a time, then the long media runs alone (groupOrder), so that timing-sensitive
// runs never share the CPU with another test file. The shaped-link tests change `lo` (tc, iptables), so they exist
// only inside the suite's own network namespace (scripts/in-netns.sh; `npm test` runs everything in one).
const inOwnNetworkNamespace = process.env.TSFU_NETNS === '1';

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 20_000, sequence: { groupOrder: 0 } } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          // Chromium is heavy and the machine has two cores: one browser test file at a time.
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'soak',
          include: ['test/soak/**/*.test.ts'],
          // Long media runs: the 2-minute soak (bench/soak) and a stream that wraps sequence numbers twice.
          testTimeout: 300_000,
          hookTimeout: 60_000,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
      ...(inOwnNetworkNamespace
        ? [
            {
              test: {
                name: 'shaped',
                include: ['test/shaped/**/*.test.ts'],
                // Chromium on a shaped link: a minute or more per scenario, alone on the machine.
                testTimeout: 240_000,
                hookTimeout: 60_000,
                fileParallelism: false,
                sequence: { groupOrder: 3 },
              },
            },
          ]
        : []),
    ],
  },
});
