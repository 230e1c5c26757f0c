import { pino, type Logger } from 'pino';
import { defaultConfig, validateConfig, type Config, type DeepPartial } from '../../server/config.js';
import { startServer, type RunningServer } from '../../server/app.js';

import { TEST_KID, TEST_SECRET } from './test-key.js';

export { TEST_KID, TEST_SECRET };

/**
 * A real server on 127.0.0.1, HTTP on a port the OS picks, with a known key and fast heartbeats; `logger` replaces
 * the test logger (a test that reads the log lines).
 */
export async function startTestServer(overrides: DeepPartial<Config> = {}, logger?: Logger): Promise<RunningServer> {
  const base = defaultConfig();
  const config: Config = {
    ...base,
    http: { host: '127.0.0.1', port: 0 },
    auth: { keys: { [TEST_KID]: TEST_SECRET } },
    // Ports the OS picks, so test files can run side by side.
    turn: { ...base.turn, server: { udpPort: 0, tcpPort: 0, relayPortRange: [30000, 39999] } },
    log: { level: (process.env.TSFU_TEST_LOG_LEVEL as Config['log']['level']) ?? 'silent' },
  };
  for (const [section, values] of Object.entries(overrides)) {
    const current = (config as unknown as Record<string, unknown>)[section];
    (config as unknown as Record<string, unknown>)[section] =
      typeof current === 'object' && current !== null && !Array.isArray(current) ? { ...current, ...(values as object) } : values;
  }
  const valid = validateConfig(config);
  return startServer(valid, { logger: logger ?? pino({ level: valid.log.level }) });
}

/** The sum of every sample of a metric (all label sets, or those whose labels include `labels`, e.g. 'reason="bandwidth"') in the server's registry. */
export async function metricTotal(server: RunningServer, name: string, labels?: string): Promise<number> {
  const text = await server.registry.metrics();
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith(name) && (!labels || line.includes(labels))) total += Number(line.split(' ').at(-1));
  return total;
}
