import type { Page } from 'playwright-core';
import {
  // Aliased: functions passed to page.evaluate run in the browser, where RTCPeerConnection must stay the global.
  RTCPeerConnection as WeriftPeerConnection,
  RTCRtpCodecParameters,
  useNACK,
  usePLI,
  useSdesMid,
  useTransportWideCC,
  useTWCC,
  type PeerConfig,
} from 'werift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachTransportCc, type TransportCcFeedback } from '../../sfu/transport-cc/attach.js';
import { launchChromium, type LaunchedChromium } from '../helpers/chromium.js';

/**
 * The acid test for our transport-wide congestion control feedback: Chromium publishes 720p video to a werift
 * peer connection on 127.0.0.1, and its send-side bandwidth estimate (availableOutgoingBitrate) must climb to a
 * real video bitrate. With werift's own malformed feedback it stays near the floor.
 */

const LOOPBACK = '127.0.0.1';
const TARGET_BPS = 1_500_000;
const MAX_BITRATE_BPS = 2_500_000;

/** A werift peer that gathers, announces and accepts only 127.0.0.1 (werift skips loopback by default). */
function createLoopbackPeer(): WeriftPeerConnection {
  const videoFeedback = () => [useTWCC(), useNACK(), usePLI()];
  const config: Partial<PeerConfig> = {
    codecs: {
      video: [
        new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, payloadType: 96, rtcpFeedback: videoFeedback() }),
        new RTCRtpCodecParameters({
          mimeType: 'video/H264',
          clockRate: 90000,
          payloadType: 102,
          parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
          rtcpFeedback: videoFeedback(),
        }),
      ],
    },
    headerExtensions: { video: [useSdesMid(), useTransportWideCC()] },
    bundlePolicy: 'max-bundle',
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: [LOOPBACK],
    iceInterfaceAddresses: { udp4: LOOPBACK },
    iceFilterCandidatePair: (pair) => pair.localCandidate.host === LOOPBACK && pair.remoteCandidate.host === LOOPBACK,
    iceFilterStunResponse: (_message, addr) => addr[0] === LOOPBACK,
  };
  return new WeriftPeerConnection(config);
}

/** Keeps only the browser's 127.0.0.1 candidates, so werift never talks to another address. */
function loopbackCandidatesOnly(sdp: string): string {
  return sdp
    .split('\r\n')
    .filter((line) => !line.startsWith('a=candidate:') || line.split(' ')[4] === LOOPBACK)
    .join('\r\n');
}

interface Sample {
  atMs: number;
  availableOutgoingBitrate: number;
  bytesSent: number;
  frameWidth: number;
}

interface Run {
  samples: Sample[];
  /** Milliseconds from ICE connected until availableOutgoingBitrate first reached the target, if it did. */
  reachedAfterMs?: number;
  maxAvailable: number;
  /** outbound-rtp bytesSent rate (bps) over the last 3 s sampled. */
  sendRateBps: number;
  /** Our feedback's counters, read before it is closed. */
  feedbackStats?: TransportCcFeedback['stats'];
}

/** Browser side: publish the fake camera at 720p with a 2.5 Mbps cap; returns the offer once ICE gathering ends. */
async function publishOffer(page: Page): Promise<string> {
  return page.evaluate(async (maxBitrate) => {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720, frameRate: 30 } });
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    (window as unknown as { pc: RTCPeerConnection }).pc = pc;
    const { sender } = pc.addTransceiver(stream.getVideoTracks()[0], { direction: 'sendonly', sendEncodings: [{ maxBitrate }] });
    // Encode 720p from the first frame instead of starting small and waiting for CPU headroom to scale up.
    const parameters = sender.getParameters();
    parameters.degradationPreference = 'maintain-resolution';
    await sender.setParameters(parameters);
    await pc.setLocalDescription(await pc.createOffer());
    if (pc.iceGatheringState !== 'complete') {
      await new Promise<void>((resolve) => {
        pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
      });
    }
    return pc.localDescription!.sdp;
  }, MAX_BITRATE_BPS);
}

async function sampleStats(page: Page): Promise<Omit<Sample, 'atMs'>> {
  return page.evaluate(async () => {
    const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
    const report = await pc.getStats();
    let availableOutgoingBitrate = 0;
    let bytesSent = 0;
    let frameWidth = 0;
    report.forEach((s) => {
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
        availableOutgoingBitrate = s.availableOutgoingBitrate ?? 0;
      }
      if (s.type === 'outbound-rtp' && s.kind === 'video') {
        bytesSent = s.bytesSent;
        frameWidth = s.frameWidth ?? 0;
      }
    });
    return { availableOutgoingBitrate, bytesSent, frameWidth };
  });
}

/** Connects a fresh publisher page to a fresh werift peer and samples the publisher's stats every 500 ms. */
async function publishAndMeasure(browser: LaunchedChromium, withOurFeedback: boolean, durationMs: number): Promise<Run> {
  const page = await browser.newPage();
  const pc = createLoopbackPeer();
  const feedback = withOurFeedback ? attachTransportCc(pc) : undefined;
  try {
    const offer = loopbackCandidatesOnly(await publishOffer(page));
    await pc.setRemoteDescription({ type: 'offer', sdp: offer });
    await pc.setLocalDescription(await pc.createAnswer());
    if (pc.iceGatheringState !== 'complete') await pc.iceGatheringStateChange.watch((s) => s === 'complete', 10_000);
    const answer = pc.localDescription!.sdp;
    expect(answer).toContain('transport-cc');
    await page.evaluate(async (sdp) => {
      const browserPc = (window as unknown as { pc: RTCPeerConnection }).pc;
      await browserPc.setRemoteDescription({ type: 'answer', sdp });
    }, answer);
    await page.waitForFunction(
      () => (window as unknown as { pc: RTCPeerConnection }).pc.connectionState === 'connected',
      undefined,
      { timeout: 15_000 },
    );

    const start = Date.now();
    const samples: Sample[] = [];
    let reachedAfterMs: number | undefined;
    while (Date.now() - start < durationMs) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const sample = { atMs: Date.now() - start, ...(await sampleStats(page)) };
      samples.push(sample);
      if (reachedAfterMs === undefined && sample.availableOutgoingBitrate >= TARGET_BPS) {
        reachedAfterMs = sample.atMs;
        // Three more seconds to measure the send rate the estimate allows.
        durationMs = Math.min(durationMs, sample.atMs + 3_000);
      }
    }
    const last = samples.at(-1)!;
    const earlier = samples.find((s) => s.atMs >= last.atMs - 3_000)!;
    const sendRateBps = last.atMs > earlier.atMs ? ((last.bytesSent - earlier.bytesSent) * 8 * 1000) / (last.atMs - earlier.atMs) : 0;
    const maxAvailable = Math.max(...samples.map((s) => s.availableOutgoingBitrate));
    return { samples, reachedAfterMs, maxAvailable, sendRateBps, feedbackStats: feedback?.stats };
  } finally {
    feedback?.close();
    await pc.close();
    await page.close();
  }
}

const kbps = (bps: number) => `${Math.round(bps / 1000)} kbps`;

describe('transport-cc feedback to a Chromium publisher', () => {
  let browser: LaunchedChromium;

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('lets Chromium estimate at least 1.5 Mbps within 15 s and send video at that rate', async () => {
    // Chromium's first estimate comes from probe bursts of ~15 ms sent right after connecting. On this two-core
    // machine Node is sometimes descheduled or in GC during that burst, so the packets are read (and timestamped)
    // bunched; libwebrtc then rightly rejects the probe ("receive/send ratio too high") and, since the fake camera's
    // simple picture needs only ~0.7 Mbps, the estimate can only climb to ~1.5x that. A fresh connection probes
    // again, so up to three are tried; every attempt is logged.
    let run: Run | undefined;
    for (let attempt = 1; attempt <= 3 && run?.reachedAfterMs === undefined; attempt++) {
      run = await publishAndMeasure(browser, true, 15_000);
      const trace = run.samples.map((s) => `${s.atMs}ms:${kbps(s.availableOutgoingBitrate)}/${s.frameWidth}w`).join(' ');
      console.info(
        `[transport-cc] attempt ${attempt} with our feedback: max availableOutgoingBitrate ${kbps(run.maxAvailable)}, ` +
          `reached ${kbps(TARGET_BPS)} after ${run.reachedAfterMs ?? '-'} ms, send rate ${kbps(run.sendRateBps)}; ` +
          `feedback ${JSON.stringify(run.feedbackStats)}\n  ${trace}`,
      );
    }
    run = run!;
    expect(run.feedbackStats?.feedbackPacketsSent).toBeGreaterThan(20);
    expect(run.feedbackStats?.sendFailures).toBe(0);
    expect(run.reachedAfterMs).toBeDefined();
    expect(run.reachedAfterMs).toBeLessThanOrEqual(15_000);
    // The encoder follows: it sends 720p video at a real bitrate (the fake camera's simple picture needs ~0.7 Mbps),
    // within both the estimate and the 2.5 Mbps cap.
    expect(run.samples.at(-1)?.frameWidth).toBe(1280);
    expect(run.sendRateBps).toBeGreaterThan(400_000);
    expect(run.sendRateBps).toBeLessThan(Math.min(run.maxAvailable, MAX_BITRATE_BPS) * 1.1);
  });

  it("stays near the floor with werift's own feedback (the bug this module fixes)", async () => {
    const run = await publishAndMeasure(browser, false, 8_000);
    const trace = run.samples.map((s) => `${s.atMs}ms:${kbps(s.availableOutgoingBitrate)}`).join(' ');
    console.info(`[transport-cc] with werift's feedback: max availableOutgoingBitrate ${kbps(run.maxAvailable)}\n  ${trace}`);
    expect(run.maxAvailable).toBeGreaterThan(0);
    expect(run.maxAvailable).toBeLessThan(TARGET_BPS / 2);
  });
});
