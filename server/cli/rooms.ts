import { parseArgs } from 'node:util';
import { RoomServiceClient, RoomServiceError } from '../room-api/room-service-client.js';

const usage = `usage: npm run rooms -- [--url URL] [--api-key KEY] [--api-secret SECRET] COMMAND
commands:
  list                                   every room of the cluster
  create <name> [--max N] [--empty-timeout S] [--metadata TEXT]
  delete <name>
  metadata <room> <text>                 set the room's metadata
  participants <room>
  remove <room> <identity>
  mute <room> <identity> <trackId> [--unmute]
  send <room> <text> [--topic T] [--to IDENTITY]...
The server's URL, API key (a kid of auth.keys) and its secret come from the flags or TSFU_URL, TSFU_API_KEY and
TSFU_API_SECRET (default URL http://127.0.0.1:7880). Prints JSON on stdout; an error exits with 1.`;

/** `npm run rooms`: the room service API from a shell (docs/API.md). */
async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    strict: true,
    options: {
      url: { type: 'string' },
      'api-key': { type: 'string' },
      'api-secret': { type: 'string' },
      max: { type: 'string' },
      'empty-timeout': { type: 'string' },
      metadata: { type: 'string' },
      topic: { type: 'string' },
      to: { type: 'string', multiple: true },
      unmute: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const [command, ...args] = positionals;
  if (values.help || !command) {
    console.error(usage);
    return values.help ? 0 : 2;
  }
  const url = values.url ?? process.env.TSFU_URL ?? 'http://127.0.0.1:7880';
  const apiKey = values['api-key'] ?? process.env.TSFU_API_KEY;
  const secret = values['api-secret'] ?? process.env.TSFU_API_SECRET;
  if (!apiKey || !secret) {
    console.error('error: an API key and secret are needed: --api-key/--api-secret or TSFU_API_KEY/TSFU_API_SECRET');
    return 2;
  }
  const integer = (name: string, raw: string | undefined) => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a whole number`);
    return n;
  };
  const need = (count: number) => {
    if (args.length !== count) throw new UsageError(`"${command}" takes ${count} argument${count === 1 ? '' : 's'}`);
    return args;
  };
  const client = new RoomServiceClient(url, apiKey, secret);
  let result: unknown;
  switch (command) {
    case 'list':
      need(0);
      result = await client.listRooms();
      break;
    case 'create': {
      const [name] = need(1);
      const options = { maxParticipants: integer('max', values.max), emptyTimeoutSeconds: integer('empty-timeout', values['empty-timeout']), metadata: values.metadata };
      result = await client.createRoom(name, Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)));
      break;
    }
    case 'delete':
      await client.deleteRoom(need(1)[0]);
      result = { deleted: args[0] };
      break;
    case 'metadata': {
      const [room, text] = need(2);
      result = await client.updateRoomMetadata(room, text);
      break;
    }
    case 'participants':
      result = await client.listParticipants(need(1)[0]);
      break;
    case 'remove': {
      const [room, identity] = need(2);
      await client.removeParticipant(room, identity);
      result = { removed: identity };
      break;
    }
    case 'mute': {
      const [room, identity, trackId] = need(3);
      result = await client.mutePublishedTrack(room, identity, trackId, !values.unmute);
      break;
    }
    case 'send': {
      const [room, text] = need(2);
      result = { delivered: await client.sendData(room, text, { ...(values.topic ? { topic: values.topic } : {}), ...(values.to ? { destinationIdentities: values.to } : {}) }) };
      break;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return 0;
}

class UsageError extends Error {}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      console.error(`error: ${(error as Error).message}\n${usage}`);
      process.exit(2);
    }
    if (error instanceof RoomServiceError) console.error(`error: ${error.message}`);
    // fetch's own failure (refused, unknown host): its cause says why.
    else if (error instanceof TypeError && error.cause instanceof Error) console.error(`error: cannot reach the server: ${error.cause.message}`);
    else console.error(error);
    process.exit(1);
  },
);
