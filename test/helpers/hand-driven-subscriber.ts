import { pino } from 'pino';
import type { NegotiationQueue } from '../../sfu/peer/negotiation-queue.js';
import { createPeerConnection } from '../../sfu/peer/peer-factory.js';
import { SubscriberPeer, type SubscriberOffer } from '../../sfu/peer/subscriber-peer.js';
import type { SfuMetrics } from '../../sfu/sfu-metrics.js';
import type { SfuOptions } from '../../sfu/sfu-options.js';

/**
 * A SubscriberPeer outside any room, whose queue turns the caller gives by hand (`runNegotiation`); answers are
 * applied at once. Records its offers and negotiation failures.
 */
export function handDrivenSubscriber(options: SfuOptions, metrics: SfuMetrics) {
  const offers: SubscriberOffer[] = [];
  const failures: string[] = [];
  const queue = { enqueue: () => undefined, remove: () => undefined, exclusive: <T>(work: () => Promise<T>) => work() };
  const context = { options, metrics, logger: pino({ level: 'silent' }), onIceCandidate: () => undefined, onConnectionState: () => undefined, onIceRestart: () => undefined };
  const pc = createPeerConnection(options);
  const peer = new SubscriberPeer(pc, context, queue as unknown as NegotiationQueue, {
    onOffer: (offer) => offers.push(offer),
    onData: () => undefined,
    onDataStalled: () => undefined,
    onNegotiationFailed: (message) => failures.push(message),
    onTrackState: () => undefined,
  });
  return { peer, offers, failures, pc };
}
