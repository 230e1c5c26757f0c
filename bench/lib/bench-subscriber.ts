import type { RTCDataChannel, RTCPeerConnection } from 'werift';
import { decodeDataEnvelope } from '../../sfu/session/data-envelope.js';
import { createPeerConnection } from '../../sfu/peer/peer-factory.js';
import { defaultSfuOptions } from '../../sfu/sfu-options.js';
import { attachTransportCc } from '../../sfu/media/transport-cc/attach.js';
import { waitUntil } from '../../test/helpers/bot.js';
import { SignalingClient, testToken } from '../../test/helpers/signaling-client.js';

const botOptions = { ...defaultSfuOptions, portMin: 50000, portMax: 59999 };

/**
 * A subscribe-only participant for the benchmark. `decrypt: true` receives like a browser would (werift
 * decrypts, parses and reports every RTP packet); `decrypt: false` is the light receive path: SRTP/SRTCP
 * datagrams are counted from their clear-text header (RFC 3711 §3.1 leaves the RTP header unencrypted) at the
 * ICE layer and never reach werift's SRTP code, so 40 receivers fit beside the publisher on a 2-core machine.
 * DTLS (and the SCTP data channels over it) still take werift's normal path.
 */
export class BenchSubscriber {
  /** performance.now() at WebSocket open and at the first RTP packet. */
  readonly openedAt: number;
  firstRtpAt?: number;
  rtpPackets = 0;
  readonly data: { text: string; receivedAt: number }[] = [];
  readonly pc: RTCPeerConnection;
  readonly #channels: RTCDataChannel[] = [];
  #hooked = false;
  #closed = false;

  private constructor(
    readonly identity: string,
    readonly signaling: SignalingClient,
    readonly decrypt: boolean,
    openedAt: number,
  ) {
    this.openedAt = openedAt;
    const pc = (this.pc = createPeerConnection(botOptions));
    // Feedback as a browser sends it: werift's own malformed transport-cc makes the SFU's RTCP parser throw on
    // every compound packet, a cost no browser subscriber causes.
    if (decrypt) attachTransportCc(pc);
    for (const [label, id, ordered] of [['reliable', 0, true], ['lossy', 1, false]] as const) {
      const channel = pc.createDataChannel(label, { negotiated: true, id, ordered, ...(ordered ? {} : { maxRetransmits: 0 }) });
      this.#channels.push(channel);
      channel.onMessage.subscribe((message) => {
        const receivedAt = performance.now();
        const envelope = decodeDataEnvelope(typeof message === 'string' ? Buffer.from(message) : message);
        if (typeof envelope !== 'string') this.data.push({ text: Buffer.from(envelope.payload).toString(), receivedAt });
      });
    }
    pc.onIceCandidate.subscribe((candidate) => {
      if (candidate) signaling.send({ type: 'trickle', target: 'subscriber', candidate: candidate.toJSON() });
    });
    if (decrypt) {
      pc.onTrack.subscribe((track) => {
        track.onReceiveRtp.subscribe(() => {
          this.rtpPackets++;
          this.firstRtpAt ??= performance.now();
        });
      });
    }
    signaling.socket.on('message', (raw) => void this.#onSignal(JSON.parse(raw.toString())));
  }

  static async join(url: string, room: string, identity: string, decrypt: boolean): Promise<BenchSubscriber> {
    const token = await testToken({ room, identity });
    const signaling = await SignalingClient.connect(url);
    const openedAt = performance.now();
    const subscriber = new BenchSubscriber(identity, signaling, decrypt, openedAt);
    signaling.send({ type: 'join', room, token });
    await signaling.waitFor('joined');
    return subscriber;
  }

  async dataReady(timeoutMs = 15_000): Promise<void> {
    await waitUntil(() => this.#channels.every((c) => c.readyState === 'open'), timeoutMs, `data channels of ${this.identity}`);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.signaling.close();
    await this.pc.close();
  }

  /** Replaces the ICE connection's data event so RTP/RTCP are counted and dropped before werift's SRTP. */
  #hookIce(): void {
    if (this.#hooked || this.decrypt) return;
    const ice = this.pc.iceTransports[0]?.connection;
    if (!ice) return;
    this.#hooked = true;
    const event = ice.onData;
    const original = event.execute;
    event.execute = (data: Buffer) => {
      // RFC 7983 §7: 128–191 is RTP/RTCP; RTCP packet types 192–223 sit in the second byte (RFC 5761 §4).
      const first = data[0];
      if (first >= 128 && first <= 191) {
        const type = data[1];
        if (type < 192 || type > 223) {
          this.rtpPackets++;
          this.firstRtpAt ??= performance.now();
        }
        return;
      }
      original(data);
    };
  }

  async #onSignal(message: { type: string; [k: string]: unknown }): Promise<void> {
    if (this.#closed) return;
    if (message.type === 'subscriberOffer') {
      await this.pc.setRemoteDescription({ type: 'offer', sdp: message.sdp as string });
      await this.pc.setLocalDescription(await this.pc.createAnswer());
      this.#hookIce();
      this.signaling.send({ type: 'subscriberAnswer', sdp: this.pc.localDescription!.sdp });
    } else if (message.type === 'trickle' && message.target === 'subscriber') {
      await this.pc.addIceCandidate(message.candidate as never).catch(() => undefined);
    }
  }
}
