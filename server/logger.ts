import { pino, type Logger } from 'pino';
import type { Config } from './config.js';

/** The root logger; subsystems take children with a stable `name` (sfu, signaling, turn, http). */
export function createRootLogger(config: Config): Logger {
  return pino({ level: config.log.level, base: { pid: process.pid } });
}
