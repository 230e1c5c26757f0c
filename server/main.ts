import { ConfigError, loadConfig } from './config.js';
import { startServer } from './app.js';
import { createRootLogger } from './logger.js';

/** Process entry: config from TSFU_CONFIG / --config and TSFU_* variables; SIGTERM (or POST /admin/drain) drains within the grace period. */
async function main(): Promise<void> {
  const flag = process.argv.indexOf('--config');
  const file = flag >= 0 ? process.argv[flag + 1] : undefined;
  let config;
  try {
    config = loadConfig({ file, env: process.env });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`configuration error: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createRootLogger(config);
  // Bounded: the drain, then the grace period for closing; never longer. SIGTERM and POST /admin/drain alike.
  const exitAfter = (done: Promise<void>, reason: string) => {
    const { drainMs, graceMs } = config.shutdown;
    logger.info({ reason, drainMs, graceMs }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error('shutdown grace period exceeded; exiting');
      process.exit(1);
    }, drainMs + graceMs);
    timer.unref();
    done.then(
      () => {
        logger.info('shut down cleanly');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  const server = await startServer(config, { logger, onShutdown: exitAfter });
  // A bug reached from network input must not take every room down with it: log it loudly and carry on.
  process.on('uncaughtException', (error) => logger.error({ err: error }, 'uncaught exception'));
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
  process.once('SIGTERM', () => void server.shutdown('SIGTERM').catch(() => undefined));
  process.once('SIGINT', () => void server.shutdown('SIGINT').catch(() => undefined));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
