import { ConfigError, loadConfig } from './config.js';
import { startServer } from './app.js';

/** Process entry: config from TSFU_CONFIG / --config and TSFU_* variables; SIGTERM drains within the grace period. */
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
  const server = await startServer(config);
  const shutdown = (signal: string) => {
    const { drainMs, graceMs } = config.shutdown;
    server.logger.info({ signal, drainMs, graceMs }, 'shutting down');
    // Bounded: the drain, then the grace period for closing; never longer.
    const timer = setTimeout(() => {
      server.logger.error('shutdown grace period exceeded; exiting');
      process.exit(1);
    }, drainMs + graceMs);
    timer.unref();
    server.drain(drainMs).then(() => server.close()).then(
      () => {
        server.logger.info('shut down cleanly');
        process.exit(0);
      },
      (error: unknown) => {
        server.logger.error({ err: error }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  // A bug reached from network input must not take every room down with it: log it loudly and carry on.
  process.on('uncaughtException', (error) => server.logger.error({ err: error }, 'uncaught exception'));
  process.on('unhandledRejection', (reason) => server.logger.error({ err: reason }, 'unhandled rejection'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
