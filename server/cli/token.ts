import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { mintToken } from '../../signaling/index.js';

const usage = `usage: npm run token -- --room ROOM --identity IDENTITY [--name NAME] [--ttl SECONDS] [--kid KID]
                      [--no-publish] [--no-subscribe] [--no-data] [--admin] [--config FILE]
Mints a join token with a key from the configuration (auth.keys, TSFU_AUTH_KEYS or TSFU_CONFIG).`;

/** `npm run token`: prints a signed join token on stdout. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      room: { type: 'string' },
      identity: { type: 'string' },
      name: { type: 'string' },
      ttl: { type: 'string', default: '3600' },
      kid: { type: 'string' },
      config: { type: 'string' },
      'no-publish': { type: 'boolean', default: false },
      'no-subscribe': { type: 'boolean', default: false },
      'no-data': { type: 'boolean', default: false },
      admin: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help || !values.room || !values.identity) {
    console.error(usage);
    process.exit(values.help ? 0 : 2);
  }
  const config = loadConfig({ file: values.config, env: process.env });
  const kids = Object.keys(config.auth.keys);
  if (kids.length === 0) {
    throw new ConfigError('no auth.keys configured: set TSFU_AUTH_KEYS="kid:secret" or auth.keys in the config file (a development-mode server makes its own key; use GET /dev/token there)');
  }
  const kid = values.kid ?? kids[0];
  const secret = config.auth.keys[kid];
  if (!secret) throw new ConfigError(`no key with kid "${kid}"; configured: ${kids.join(', ')}`);
  const ttlSeconds = Number(values.ttl);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new ConfigError('--ttl must be a positive whole number of seconds');
  const token = await mintToken({
    kid,
    secret,
    room: values.room,
    identity: values.identity,
    name: values.name,
    ttlSeconds,
    grants: { canPublish: !values['no-publish'], canSubscribe: !values['no-subscribe'], canPublishData: !values['no-data'], roomAdmin: values.admin },
  });
  process.stdout.write(`${token}\n`);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `error: ${error.message}` : error);
  process.exit(2);
});
