import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';

export const usage = `usage: npm run loadtest -- --url URL (--api-key KID --api-secret SECRET | --dev) [options]

  --url URL            signaling URL (ws://host:7880/v1/rtc) or HTTP base (http://host:7880); any node of a cluster
  --api-key KID        signing key id   (env TSFU_API_KEY, or the first entry of TSFU_AUTH_KEYS=kid:secret)
  --api-secret SECRET  signing secret   (env TSFU_API_SECRET)
  --dev                fetch tokens from GET /dev/token (a development-mode server, no keys configured)
  --rooms N            rooms (default 1)
  --publishers P       publishers per room, each sending video and audio (default 1)
  --subscribers S      subscribers per room, receiving everything (default 5)
  --duration SECONDS   how long everyone stays once the last join was sent (default 30)
  --video-kbps KBPS    video bitrate of a non-simulcast publisher (default 800)
  --simulcast          publish simulcast video with --layers (and audio)
  --layers K,K,K       simulcast layer bitrates in kbps, lowest first (default 150,500,1200)
  --audio-only         publish audio only
  --processes N        bot processes (default: cores - 1, at least 1)
  --ramp N             joins per second (default 5: a server's default per-address connection limit)
  --room-prefix NAME   rooms are NAME-<run id>-<n> (default loadtest)
  --max-failures N|N%  failed joins tolerated before the exit code is 1 (default 0)
  --json               print the summary as JSON on stdout (the table goes to stderr)
  --help

Exit codes: 0 done; 1 more joins failed than --max-failures, or every join failed; 2 bad options or token source.`;

export type TokenConfig = { kind: 'key'; kid: string; secret: string } | { kind: 'dev'; httpBase: string };

export interface LoadTestOptions {
  /** The signaling WebSocket URL every bot connects to first. */
  signalingUrl: string;
  token: TokenConfig;
  rooms: number;
  publishers: number;
  subscribers: number;
  durationSeconds: number;
  videoKbps: number;
  simulcast: boolean;
  layersKbps: number[];
  audioOnly: boolean;
  processes: number;
  rampPerSecond: number;
  roomPrefix: string;
  /** Failed joins tolerated: a count, or a share of all joins when `maxFailuresShare`. */
  maxFailures: number;
  maxFailuresShare: boolean;
  json: boolean;
}

export class OptionsError extends Error {}

/** Parses the command line and environment; throws OptionsError with a message for the operator. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): LoadTestOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      'api-key': { type: 'string' },
      'api-secret': { type: 'string' },
      dev: { type: 'boolean', default: false },
      rooms: { type: 'string', default: '1' },
      publishers: { type: 'string', default: '1' },
      subscribers: { type: 'string', default: '5' },
      duration: { type: 'string', default: '30' },
      'video-kbps': { type: 'string', default: '800' },
      simulcast: { type: 'boolean', default: false },
      layers: { type: 'string', default: '150,500,1200' },
      'audio-only': { type: 'boolean', default: false },
      processes: { type: 'string', default: String(Math.max(1, availableParallelism() - 1)) },
      ramp: { type: 'string', default: '5' },
      'room-prefix': { type: 'string', default: 'loadtest' },
      'max-failures': { type: 'string', default: '0' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  if (!values.url) throw new OptionsError('--url is required');
  const { signalingUrl, httpBase } = serverUrls(values.url);
  const count = (name: string, value: string, min: number) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new OptionsError(`--${name} must be a whole number >= ${min}, not "${value}"`);
    return n;
  };
  const positive = (name: string, value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new OptionsError(`--${name} must be a positive number, not "${value}"`);
    return n;
  };
  if (values.simulcast && values['audio-only']) throw new OptionsError('--simulcast and --audio-only exclude each other');
  const layersKbps = values.layers.split(',').map((k) => positive('layers', k));
  const failures = /^(\d+(?:\.\d+)?)(%?)$/.exec(values['max-failures']);
  if (!failures) throw new OptionsError(`--max-failures must be a count or a percentage (5%), not "${values['max-failures']}"`);
  return {
    signalingUrl,
    token: tokenConfig(values, env, httpBase),
    rooms: count('rooms', values.rooms, 1),
    publishers: count('publishers', values.publishers, 0),
    subscribers: count('subscribers', values.subscribers, 0),
    durationSeconds: positive('duration', values.duration),
    videoKbps: positive('video-kbps', values['video-kbps']),
    simulcast: values.simulcast,
    layersKbps,
    audioOnly: values['audio-only'],
    processes: count('processes', values.processes, 1),
    rampPerSecond: positive('ramp', values.ramp),
    roomPrefix: values['room-prefix'],
    maxFailures: Number(failures[1]),
    maxFailuresShare: failures[2] === '%',
    json: values.json,
  };
}

/** ws(s)://… is used as given (with /v1/rtc added when it has no path); http(s)://base gives ws(s)://base/v1/rtc. */
export function serverUrls(raw: string): { signalingUrl: string; httpBase: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new OptionsError(`--url "${raw}" is not a URL (ws://host:7880/v1/rtc or http://host:7880)`);
  }
  const secure = url.protocol === 'wss:' || url.protocol === 'https:';
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(url.protocol)) throw new OptionsError(`--url must be ws://, wss://, http:// or https://, not ${url.protocol}`);
  const httpBase = `${secure ? 'https' : 'http'}://${url.host}`;
  const websocket = url.protocol.startsWith('ws') && url.pathname !== '/';
  const signalingUrl = websocket ? `${secure ? 'wss' : 'ws'}://${url.host}${url.pathname}${url.search}` : `${secure ? 'wss' : 'ws'}://${url.host}/v1/rtc`;
  return { signalingUrl, httpBase };
}

function tokenConfig(values: { 'api-key'?: string; 'api-secret'?: string; dev: boolean }, env: NodeJS.ProcessEnv, httpBase: string): TokenConfig {
  if (values.dev) {
    if (values['api-key'] || values['api-secret']) throw new OptionsError('--dev and --api-key/--api-secret exclude each other');
    return { kind: 'dev', httpBase };
  }
  const [authKid, ...authSecret] = (env.TSFU_AUTH_KEYS ?? '').split(',')[0].split(':');
  const kid = values['api-key'] ?? env.TSFU_API_KEY ?? (authKid || undefined);
  const secret = values['api-secret'] ?? env.TSFU_API_SECRET ?? (kid === authKid && authSecret.length ? authSecret.join(':') : undefined);
  if (!kid || !secret) throw new OptionsError('no signing key: give --api-key and --api-secret (or TSFU_API_KEY/TSFU_API_SECRET), or --dev for a development-mode server');
  return { kind: 'key', kid, secret };
}
