import { decodeDataEnvelope, decodeText, encodeDataEnvelope, encodeText, type UpstreamHeader } from '../../sfu/session/data-envelope.js';
import { InvalidStateError } from './errors.js';

/** A data message from another participant, relayed by the SFU. */
export interface DataMessage {
  /** Sender's identity. */
  from: string;
  payload: Uint8Array;
  /** The payload decoded as UTF-8 when it was sent as a string; undefined for binary payloads. */
  text: string | undefined;
  topic: string | undefined;
  /** Whether it came on the `reliable` channel (else `lossy`). */
  reliable: boolean;
}

export interface SendDataOptions {
  /** `reliable` channel (ordered, retransmitted) when true (default); `lossy` (unordered, no retransmits) when false. */
  reliable?: boolean;
  /** Only these identities; everyone else in the room when absent. */
  to?: string[];
  topic?: string;
}

export interface DataChannelsHooks {
  message(msg: DataMessage): void;
  malformed(reason: string): void;
}

/** Messages sent while a channel is still connecting wait for it to open, up to this many per channel. */
const MAX_QUEUED_MESSAGES = 256;

/**
 * The two negotiated data channels of the subscriber connection (docs/PROTOCOL.md, "Data messages"):
 * `reliable` id 0 and `lossy` id 1, both carrying `sfu/session/data-envelope.ts` frames.
 */
export class DataChannels {
  private readonly reliable: RTCDataChannel;
  private readonly lossy: RTCDataChannel;
  private readonly queued = new Map<RTCDataChannel, Uint8Array[]>();

  constructor(pc: RTCPeerConnection, private readonly hooks: DataChannelsHooks) {
    this.reliable = this.open(pc, 'reliable', { negotiated: true, id: 0, ordered: true });
    this.lossy = this.open(pc, 'lossy', { negotiated: true, id: 1, ordered: false, maxRetransmits: 0 });
  }

  /** Whether the reliable channel is open (the lossy one opens with it). */
  get isOpen(): boolean {
    return this.reliable.readyState === 'open';
  }

  send(payload: string | Uint8Array, options: SendDataOptions = {}): void {
    const channel = options.reliable === false ? this.lossy : this.reliable;
    const header: UpstreamHeader = {};
    if (options.to !== undefined) header.to = options.to;
    if (options.topic !== undefined) header.topic = options.topic;
    const isText = typeof payload === 'string';
    const frame = encodeDataEnvelope(header, isText ? encodeText(payload) : payload, isText);
    switch (channel.readyState) {
      case 'open':
        channel.send(frame as Uint8Array<ArrayBuffer>);
        return;
      case 'connecting': {
        const queue = this.queued.get(channel) ?? [];
        if (queue.length >= MAX_QUEUED_MESSAGES) {
          throw new InvalidStateError(`data channel ${channel.label} is still connecting and ${MAX_QUEUED_MESSAGES} messages are waiting`);
        }
        queue.push(frame);
        this.queued.set(channel, queue);
        return;
      }
      default:
        throw new InvalidStateError(`data channel ${channel.label} is ${channel.readyState}`);
    }
  }

  close(): void {
    this.queued.clear();
    for (const channel of [this.reliable, this.lossy]) {
      channel.onopen = null;
      channel.onmessage = null;
      channel.close();
    }
  }

  private open(pc: RTCPeerConnection, label: string, init: RTCDataChannelInit): RTCDataChannel {
    const channel = pc.createDataChannel(label, init);
    channel.binaryType = 'arraybuffer';
    channel.onopen = () => {
      for (const frame of this.queued.get(channel)?.splice(0) ?? []) channel.send(frame as Uint8Array<ArrayBuffer>);
    };
    channel.onmessage = (event: MessageEvent) => this.receive(channel === this.reliable, event.data);
    return channel;
  }

  private receive(reliable: boolean, data: unknown): void {
    if (!(data instanceof ArrayBuffer)) {
      this.hooks.malformed('data message is not binary');
      return;
    }
    const envelope = decodeDataEnvelope(new Uint8Array(data));
    if (typeof envelope === 'string') {
      this.hooks.malformed(envelope);
      return;
    }
    const { from, topic } = envelope.header;
    if (typeof from !== 'string') {
      this.hooks.malformed('data header has no "from"');
      return;
    }
    this.hooks.message({
      from,
      payload: envelope.payload,
      text: envelope.text ? decodeText(envelope.payload) : undefined,
      topic: typeof topic === 'string' ? topic : undefined,
      reliable,
    });
  }
}
