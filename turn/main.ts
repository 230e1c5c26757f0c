// Standalone TURN server: `node dist/turn/main.js config.json` (or TURN_CONFIG=config.json).
// Reads a JSON config, validates it (unknown keys are rejected by name), runs until SIGTERM/SIGINT.
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { validateTurnConfig } from './config.js';
import { startTurnServer } from './server.js';

async function main(): Promise<void> {
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' });
  const path = process.argv[2] ?? process.env.TURN_CONFIG;
  let config;
  try {
    config = validateTurnConfig(path ? JSON.parse(readFileSync(path, 'utf8')) : {});
  } catch (err) {
    logger.fatal({ path, err: (err as Error).message }, 'invalid turn config');
    process.exit(2);
  }
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let server;
  try {
    server = await startTurnServer(config, { logger, registry });
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, 'turn server failed to start');
    process.exit(1);
  }
  const stop = (signal: string): void => {
    logger.info({ signal }, 'stopping turn server');
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

void main();
