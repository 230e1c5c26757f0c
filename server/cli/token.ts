import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { mintToken, TRACK_SOURCES } from '../../signaling/index.js';
import { mintAdminToken } from '../admin-token.js';

const usage = `usage: npm run token -- --room ROOM --identity IDENTITY [--name NAME] [--ttl SECONDS] [--kid KID]
                      [--no-publish] [--no-subscribe] [--no-data] [--admin] [--no-room-create]
                      [--sources camera,microphone,...] [--hidden] [--update-own-metadata] [--metadata TEXT]
                      [--config FILE]
       npm run token -- --admin-drain [--identity OPERATOR] [--ttl SECONDS] [--kid KID] [--config FILE]
Mints a join token with a key from the configuration (auth.keys, TSFU_AUTH_KEYS or TSFU_CONFIG); with
--admin-drain, an admin token for POST /admin/drain instead (it cannot join a room; default ttl 900 s).`;

/** `npm run token`: prints a signed join token on stdout. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      room: { type: 'string' },
      identity: { type: 'string' },
      name: { type: 'string' },
      ttl: { type: 'string' },
      kid: { type: 'string' },
      config: { type: 'string' },
      'no-publish': { type: 'boolean', default: false },
      'no-subscribe': { type: 'boolean', default: false },
      'no-data': { type: 'boolean', default: false },
      admin: { type: 'boolean', default: false },
      'no-room-create': { type: 'boolean', default: false },
      sources: { type: 'string' },
      hidden: { type: 'boolean', default: false },
      'update-own-metadata': { type: 'boolean', default: false },
      metadata: { type: 'string' },
      'admin-drain': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const adminDrain = values['admin-drain'];
  if (values.help || (!adminDrain && (!values.room || !values.identity))) {
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
  const ttlSeconds = Number(values.ttl ?? (adminDrain ? 900 : 3600));
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new ConfigError('--ttl must be a positive whole number of seconds');
  if (adminDrain) {
    process.stdout.write(`${await mintAdminToken({ kid, secret, operator: values.identity ?? 'operator', grants: { drain: true }, ttlSeconds })}\n`);
    return;
  }
  const sources = values.sources?.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const unknown = sources?.find((s) => !(TRACK_SOURCES as readonly string[]).includes(s));
  if (unknown !== undefined) throw new ConfigError(`--sources: unknown source "${unknown}"; known: ${TRACK_SOURCES.join(', ')}`);
  const token = await mintToken({
    kid,
    secret,
    room: values.room!, // checked with the usage above
    identity: values.identity!,
    name: values.name,
    metadata: values.metadata,
    ttlSeconds,
    grants: {
      canPublish: !values['no-publish'],
      canSubscribe: !values['no-subscribe'],
      canPublishData: !values['no-data'],
      roomAdmin: values.admin,
      // Written only when they differ from what a token without them means.
      ...(values['no-room-create'] ? { roomCreate: false } : {}),
      ...(sources ? { canPublishSources: sources as (typeof TRACK_SOURCES)[number][] } : {}),
      ...(values.hidden ? { hidden: true } : {}),
      ...(values['update-own-metadata'] ? { canUpdateOwnMetadata: true } : {}),
    },
  });
  process.stdout.write(`${token}\n`);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `error: ${error.message}` : error);
  process.exit(2);
});
