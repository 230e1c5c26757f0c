import type { RTCPeerConnection } from 'werift';
import { closePeerConnection, createPeerConnection } from '../../sfu/peer/peer-factory.js';
import { defaultSfuOptions } from '../../sfu/sfu-options.js';
import { SignalingClient, testToken } from '../../test/helpers/signaling-client.js';
import { Vp8KeyFrameWatcher } from './vp8-key-frame.js';

const clientOptions = { ...defaultSfuOptions, portMin: 50000, portMax: 59999 };

/** Milliseconds after WebSocket open at which each step of a join happened (undefined: not reached). */
export interface JoinTimeline {
  joined?: number;
  offer?: number;
  connected?: number;
  firstRtp?: number;
  firstFrame?: number;
}

/**
 * A werift subscriber that times its join: WebSocket open → `joined` → `subscriberOffer` → connected → first
 * video RTP → first complete VP8 key frame (after SRTP decryption: werift's onReceiveRtp), i.e. the first frame a
 * decoder could show.
 */
export class FirstFrameSubscriber {
  readonly timeline: JoinTimeline = {};
  readonly #pc: RTCPeerConnection;
  readonly #openedAt: number;
  #closed = false;

  private constructor(readonly signaling: SignalingClient, openedAt: number) {
    this.#openedAt = openedAt;
    const pc = (this.#pc = createPeerConnection(clientOptions));
    const at = () => performance.now() - this.#openedAt;
    pc.onIceCandidate.subscribe((candidate) => {
      if (candidate) signaling.send({ type: 'trickle', target: 'subscriber', candidate: candidate.toJSON() });
    });
    pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected') this.timeline.connected ??= at();
    });
    pc.onTrack.subscribe((track) => {
      if (track.kind !== 'video') return;
      const watcher = new Vp8KeyFrameWatcher();
      track.onReceiveRtp.subscribe((packet) => {
        this.timeline.firstRtp ??= at();
        const { sequenceNumber, timestamp, marker } = packet.header;
        if (!watcher.complete && watcher.push(sequenceNumber, timestamp, marker, packet.payload)) this.timeline.firstFrame = at();
      });
    });
    signaling.socket.on('message', (raw) => void this.#onSignal(JSON.parse(raw.toString())).catch(() => undefined));
  }

  /** Connects, then joins `room` at once; the clock starts when the WebSocket is open. */
  static async join(url: string, room: string, identity: string): Promise<FirstFrameSubscriber> {
    const token = await testToken({ room, identity, grants: { canPublish: false } });
    const signaling = await SignalingClient.connect(url);
    const subscriber = new FirstFrameSubscriber(signaling, performance.now());
    signaling.send({ type: 'join', room, token });
    return subscriber;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.signaling.close();
    await closePeerConnection(this.#pc);
  }

  async #onSignal(message: { type: string; [k: string]: unknown }): Promise<void> {
    if (this.#closed) return;
    const at = performance.now() - this.#openedAt;
    if (message.type === 'joined') this.timeline.joined ??= at;
    else if (message.type === 'subscriberOffer') {
      this.timeline.offer ??= at;
      await this.#pc.setRemoteDescription({ type: 'offer', sdp: message.sdp as string });
      await this.#pc.setLocalDescription(await this.#pc.createAnswer());
      this.signaling.send({ type: 'subscriberAnswer', sdp: this.#pc.localDescription!.sdp });
    } else if (message.type === 'trickle' && message.target === 'subscriber') {
      await this.#pc.addIceCandidate(message.candidate as never);
    }
  }
}
