import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';
import type { LaunchedChromium } from './chromium.js';
import { testToken } from './signaling-client.js';
import type { MintTokenOptions } from '../../signaling/tokens.js';

export interface InboundSnapshot {
  trackIdentifier: string;
  kind: 'audio' | 'video';
  packetsReceived: number;
  /** Payload bytes received (webrtc-stats: no headers or padding). */
  bytesReceived: number;
  framesDecoded: number;
  frameWidth: number;
  frameHeight: number;
  framesPerSecond: number;
  totalSamplesReceived: number;
  /** Video: freezes the receiver counted, and their total length in seconds (webrtc-stats). */
  freezeCount: number;
  totalFreezesDuration: number;
  keyFramesDecoded: number;
  /** PLIs this receiver sent. */
  pliCount: number;
}

/** Fails early with a clear message when `npm run build` has not produced the SDK bundle. */
export function assertClientBuilt(): void {
  if (!existsSync(new URL('../../dist/client/tsfu-sdk.js', import.meta.url))) {
    throw new Error('dist/client/tsfu-sdk.js is missing: run `npm run build` first (npm test does)');
  }
}

/**
 * A browser participant: a Chromium tab on the server's demo origin that uses the real SDK bundle
 * (`/tsfu-sdk.js`), renders every subscribed track, and records room events for the test to read.
 */
export class BrowserParticipant {
  private constructor(
    readonly identity: string,
    readonly page: Page,
    /** How many times the SDK called `refreshToken` (with `refreshToken: true`). */
    readonly tokensRefreshed: { count: number } = { count: 0 },
  ) {}

  static async join(
    browser: LaunchedChromium,
    server: { url: string; signalingUrl: string },
    room: string,
    identity: string,
    media: {
      width?: number;
      height?: number;
      audio?: boolean;
      video?: boolean;
      rtcConfig?: RTCConfiguration;
      subscribe?: boolean;
      /**
       * Floor for the page's own send-side estimate (kbit/s): `x-google-min-bitrate` added to the VP8 codec of every
       * answer it receives. For tests about a subscriber's link, where the cameras must keep sending their layers.
       */
      minSendKbps?: number;
      /** More signaling URLs for the SDK to join again through (other nodes). */
      urls?: string[];
      /** The join token's lifetime (default one hour). */
      tokenTtlSeconds?: number;
      /** Give the SDK `refreshToken`, which mints a new token here (counted in `tokensRefreshed`). */
      refreshToken?: boolean;
      /** `RoomOptions.iceRestartTimeoutMs`: how long ICE restarts may take before the SDK joins again. */
      iceRestartTimeoutMs?: number;
      /** The join token's grants (default: publish, subscribe, data). */
      grants?: MintTokenOptions['grants'];
    } = {},
  ): Promise<BrowserParticipant> {
    const page = await browser.context.newPage();
    page.on('pageerror', (error) => console.error(`[${identity}] page error: ${error.message}`));
    // Record every RTCPeerConnection the SDK makes, so the test can read their stats.
    await page.addInitScript((minSendKbps) => {
      const Native = window.RTCPeerConnection;
      const all: RTCPeerConnection[] = [];
      (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs = all;
      /** Adds x-google-min-bitrate to the VP8 payload type of each m-section (its a=fmtp line made or extended). */
      const withMinBitrate = (sdp: string) =>
        sdp
          .split(/(?=\r\nm=)/)
          .map((section) => {
            const pt = /a=rtpmap:(\d+) VP8\/90000/.exec(section)?.[1];
            if (!pt) return section;
            const fmtp = new RegExp(`a=fmtp:${pt} ([^\r\n]*)`);
            return fmtp.test(section)
              ? section.replace(fmtp, `a=fmtp:${pt} $1;x-google-min-bitrate=${minSendKbps}`)
              : section.replace(`a=rtpmap:${pt} VP8/90000`, `a=rtpmap:${pt} VP8/90000\r\na=fmtp:${pt} x-google-min-bitrate=${minSendKbps}`);
          })
          .join('');
      window.RTCPeerConnection = class extends Native {
        constructor(config?: RTCConfiguration) {
          super(config);
          all.push(this);
        }

        override setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
          if (minSendKbps > 0 && description.type === 'answer' && description.sdp) description = { type: 'answer', sdp: withMinBitrate(description.sdp) };
          return super.setRemoteDescription(description);
        }
      } as typeof RTCPeerConnection;
    }, media.minSendKbps ?? 0);
    await page.goto(`${server.url}/`);
    // Loaded by the page itself: vitest would rewrite an import() written inside page.evaluate.
    await page.addScriptTag({ type: 'module', content: "import * as sdk from '/tsfu-sdk.js'; window.__sdk = sdk;" });
    await page.waitForFunction(() => (window as unknown as { __sdk?: unknown }).__sdk !== undefined);
    const token = await testToken({ room, identity, ttlSeconds: media.tokenTtlSeconds, grants: media.grants });
    const refreshes = { count: 0 };
    if (media.refreshToken) {
      await page.exposeFunction('__refreshToken', () => {
        refreshes.count++;
        return testToken({ room, identity, ttlSeconds: media.tokenTtlSeconds });
      });
    }
    await page.evaluate(
      async ({ url, token, media }) => {
        const w = window as unknown as Record<string, unknown>;
        const { Room } = w.__sdk as { Room: any };
        const events: unknown[] = [];
        w.__events = events;
        const room = await Room.connect(url, token, {
          ...(media.rtcConfig ? { rtcConfig: media.rtcConfig } : {}),
          ...(media.subscribe === false ? { autoSubscribe: false } : {}),
          ...(media.urls ? { urls: media.urls } : {}),
          ...(media.refreshToken ? { refreshToken: (w as { __refreshToken?: () => Promise<string> }).__refreshToken } : {}),
          ...(media.iceRestartTimeoutMs !== undefined ? { iceRestartTimeoutMs: media.iceRestartTimeoutMs } : {}),
        });
        w.__room = room;
        room.on('reconnecting', (e: { code: number; reason: string }) => events.push({ type: 'reconnecting', ...e, at: Date.now() }));
        room.on('reconnected', () => events.push({ type: 'reconnected', at: Date.now() }));
        room.on('iceRestarting', (e: { peer: string; reason: string }) => events.push({ type: 'iceRestarting', ...e, at: Date.now() }));
        room.on('iceRestarted', (e: { peer: string; outageMs: number; restarts: number }) => events.push({ type: 'iceRestarted', ...e, at: Date.now() }));
        room.on('disconnected', (e: { code: number; reason: string }) => events.push({ type: 'disconnected', ...e }));
        room.on('trackSubscribed', (info: { trackId: string; kind: string }, track: MediaStreamTrack, stream: MediaStream) => {
          const element = document.createElement(info.kind === 'video' ? 'video' : 'audio') as HTMLMediaElement;
          element.autoplay = true;
          element.muted = true;
          element.dataset.trackId = info.trackId;
          element.srcObject = stream.getTracks().length === 1 ? stream : new MediaStream([track]);
          document.body.append(element);
          void element.play().catch(() => undefined);
          events.push({ type: 'trackSubscribed', trackId: info.trackId, kind: info.kind, trackIdentifier: track.id });
        });
        room.on('trackUnsubscribed', (info: { trackId: string }) => {
          document.querySelector(`[data-track-id="${info.trackId}"]`)?.remove();
          events.push({ type: 'trackUnsubscribed', trackId: info.trackId });
        });
        room.on('participantJoined', (p: { identity: string }) => events.push({ type: 'participantJoined', identity: p.identity }));
        room.on('participantLeft', (p: { identity: string }, reason: string) => events.push({ type: 'participantLeft', identity: p.identity, reason }));
        room.on('data', (m: { from: string; payload: unknown; text?: boolean }) => {
          const text = typeof m.payload === 'string' ? m.payload : new TextDecoder().decode(m.payload as Uint8Array);
          events.push({ type: 'data', from: m.from, text });
        });
        if (media.video !== false || media.audio !== false) {
          const stream = await navigator.mediaDevices.getUserMedia({
            video: media.video === false ? false : { width: media.width ?? 640, height: media.height ?? 480, frameRate: 30 },
            audio: media.audio !== false,
          });
          await room.publish(stream);
        }
      },
      { url: server.signalingUrl, token, media },
    );
    return new BrowserParticipant(identity, page, refreshes);
  }

  events<T = Record<string, unknown>>(type: string): Promise<T[]> {
    return this.page.evaluate((t) => ((window as unknown as { __events: { type: string }[] }).__events ?? []).filter((e) => e.type === t), type) as Promise<T[]>;
  }

  /** inbound-rtp stats of every receiving peer connection. */
  inbound(): Promise<InboundSnapshot[]> {
    return this.page.evaluate(async () => {
      const out: InboundSnapshot[] = [];
      for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs) {
        if (pc.connectionState === 'closed') continue;
        const report = await pc.getStats();
        report.forEach((s: Record<string, unknown>) => {
          if (s.type !== 'inbound-rtp') return;
          out.push({
            trackIdentifier: String(s.trackIdentifier ?? ''),
            kind: s.kind as 'audio' | 'video',
            packetsReceived: Number(s.packetsReceived ?? 0),
            framesDecoded: Number(s.framesDecoded ?? 0),
            frameWidth: Number(s.frameWidth ?? 0),
            frameHeight: Number(s.frameHeight ?? 0),
            framesPerSecond: Number(s.framesPerSecond ?? 0),
            totalSamplesReceived: Number(s.totalSamplesReceived ?? 0),
            freezeCount: Number(s.freezeCount ?? 0),
            totalFreezesDuration: Number(s.totalFreezesDuration ?? 0),
            bytesReceived: Number(s.bytesReceived ?? 0),
            keyFramesDecoded: Number(s.keyFramesDecoded ?? 0),
            pliCount: Number(s.pliCount ?? 0),
          });
        });
      }
      return out;
    });
  }

  /**
   * The selected candidate pair of every connected peer connection (the transport's `selectedCandidatePairId`: after
   * an ICE restart the stats also hold the old nominated pair): its local and remote candidates, and whether the
   * connection is the subscriber one (the server offered it).
   */
  selectedPairs(): Promise<{ subscriber: boolean; localType: string; remotePort: number; remoteProtocol: string }[]> {
    return this.page.evaluate(async () => {
      const pairs: { subscriber: boolean; localType: string; remotePort: number; remoteProtocol: string }[] = [];
      for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs) {
        if (pc.connectionState !== 'connected') continue;
        const report = (await pc.getStats()) as unknown as Map<string, Record<string, unknown>>;
        const transport = [...report.values()].find((s) => s.type === 'transport' && s.selectedCandidatePairId);
        const pair = transport && report.get(String(transport.selectedCandidatePairId));
        if (!pair) continue;
        const local = report.get(String(pair.localCandidateId));
        const remote = report.get(String(pair.remoteCandidateId));
        pairs.push({
          subscriber: pc.currentRemoteDescription?.type === 'offer',
          localType: String(local?.candidateType ?? ''),
          remotePort: Number(remote?.port ?? 0),
          remoteProtocol: String(remote?.protocol ?? ''),
        });
      }
      return pairs;
    });
  }

  /** Candidate types (host, srflx, relay) of the local side of every connection's selected pair. */
  async selectedLocalCandidateTypes(): Promise<string[]> {
    return (await this.selectedPairs()).map((p) => p.localType);
  }

  /** The remote (server) candidate of the selected pair of every connected peer connection: its port and protocol. */
  async selectedRemoteCandidates(): Promise<{ port: number; protocol: string }[]> {
    return (await this.selectedPairs()).map((p) => ({ port: p.remotePort, protocol: p.remoteProtocol }));
  }

  /** The server's UDP port of the subscriber connection (the one the server offered), from its selected pair. */
  async subscriberServerPort(): Promise<number> {
    const pair = (await this.selectedPairs()).find((p) => p.subscriber);
    if (!pair) throw new Error('no connected subscriber connection');
    return pair.remotePort;
  }

  /** outbound-rtp of every sending connection: rid → key frames encoded, frames sent and PLIs received so far. */
  outbound(): Promise<Record<string, { keyFramesEncoded: number; framesSent: number; frameWidth: number; pliCount: number }>> {
    return this.page.evaluate(async () => {
      const out: Record<string, { keyFramesEncoded: number; framesSent: number; frameWidth: number; pliCount: number }> = {};
      for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs) {
        if (pc.connectionState === 'closed') continue;
        (await pc.getStats()).forEach((s: Record<string, unknown>) => {
          if (s.type !== 'outbound-rtp' || s.kind !== 'video') return;
          out[String(s.rid ?? '')] = {
            keyFramesEncoded: Number(s.keyFramesEncoded ?? 0),
            framesSent: Number(s.framesSent ?? 0),
            frameWidth: Number(s.frameWidth ?? 0),
            pliCount: Number(s.pliCount ?? 0),
          };
        });
      }
      return out;
    });
  }

  /** The publisher connection's selected candidate pair's availableOutgoingBitrate (bits/s), or 0. */
  availableOutgoingBitrate(): Promise<number> {
    return this.page.evaluate(async () => {
      let best = 0;
      for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs) {
        if (pc.connectionState === 'closed' || pc.getSenders().every((s) => !s.track)) continue;
        const report = await pc.getStats();
        report.forEach((s: Record<string, unknown>) => {
          if (s.type === 'candidate-pair' && s.nominated && typeof s.availableOutgoingBitrate === 'number') best = Math.max(best, s.availableOutgoingBitrate);
        });
      }
      return best;
    });
  }

  sendData(text: string, options: Record<string, unknown> = {}): Promise<void> {
    return this.page.evaluate(({ text, options }) => (window as unknown as { __room: { sendData(t: string, o: unknown): void } }).__room.sendData(text, options), { text, options });
  }

  leave(): Promise<void> {
    return this.page.evaluate(() => (window as unknown as { __room: { leave(): Promise<void> } }).__room.leave());
  }

  /**
   * Leaves the room (within 3 s), then closes the page. A page closed while joined may drop its socket without a
   * close frame, and the server then keeps the participant for its resume grace period (20 s).
   */
  async close(): Promise<void> {
    const leave = this.page.evaluate(() => (window as unknown as { __room?: { leave(): Promise<void> } }).__room?.leave());
    await Promise.race([leave.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 3000))]);
    await this.page.close().catch(() => undefined);
  }
}

/** Polls `read` until `check` passes or the time runs out; returns the last value read. */
export async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!check(value)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}; last value ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
    value = await read();
  }
  return value;
}
