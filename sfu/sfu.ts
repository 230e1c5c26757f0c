import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { InvalidStateError, NotFoundError } from './errors.js';
import { Room, type JoinOptions } from './session/room.js';
import { NegotiationQueue } from './peer/negotiation-queue.js';
import type { SharedMediaPorts } from './peer/shared-media-ports.js';
import './peer/werift-speedups.js';
import { createSfuMetrics, type SfuMetrics } from './sfu-metrics.js';
import type { SfuOptions } from './sfu-options.js';
import { resetListenerErrorReporter, setListenerErrorReporter, TypedEmitter, type ListenerErrorReporter } from './typed-emitter.js';

export interface SfuDeps {
  logger: Logger;
  registry: Registry;
  /** The node's shared media ports when rtc.udpPort is set (the server opens and closes them). */
  sharedPorts?: SharedMediaPorts;
}

/** What is alive, for operators and for the tests that prove nothing leaks. */
export interface SfuDump {
  rooms: { id: string; participants: { identity: string; publishedTracks: number; downTracks: number }[] }[];
  participants: number;
  publishedTracks: number;
  downTracks: number;
  peerConnections: number;
}

/** What the SFU tells the server about its rooms. */
class SfuObserver extends TypedEmitter<{ roomCreated: [room: Room]; roomClosed: [roomId: string] }> {
  roomCreated(room: Room): void {
    this.emit('roomCreated', room);
  }

  roomClosed(roomId: string): void {
    this.emit('roomClosed', roomId);
  }
}

/** The SFU (mediasoup's Worker): owns the rooms; a room exists while it has participants. */
export class Sfu {
  readonly options: SfuOptions;
  readonly metrics: SfuMetrics;
  /** For the server (mediasoup's `observer`): a room created (before its first join), a room closed (its last participant gone, or the SFU closing). */
  readonly observer = new SfuObserver();
  readonly #rooms = new Map<string, Room>();
  readonly #logger: Logger;
  readonly #negotiations: NegotiationQueue;
  readonly #sharedPorts: SharedMediaPorts | undefined;
  #closed = false;

  constructor(options: SfuOptions, deps: SfuDeps) {
    this.options = options;
    this.#logger = deps.logger;
    this.#sharedPorts = deps.sharedPorts;
    this.#negotiations = new NegotiationQueue(options.negotiationDelayMs);
    this.metrics = createSfuMetrics(deps.registry, {
      rooms: () => this.#rooms.size,
      participants: () => this.dump().participants,
      publishedTracks: () => this.dump().publishedTracks,
      subscribedTracks: () => this.dump().downTracks,
      peerConnections: () => this.dump().peerConnections,
    });
    // Process-wide (typed-emitter.ts): one SFU runs per process; a closed one hands the reporter back.
    setListenerErrorReporter(this.#reportListenerError);
  }

  readonly #reportListenerError: ListenerErrorReporter = (error, event) => {
    this.metrics.listenerErrors.inc();
    this.#logger.error({ err: error, event }, 'an event listener threw; the SFU carried on');
  };

  get rooms(): ReadonlyMap<string, Room> {
    return this.#rooms;
  }

  /** The room if it exists; looking a room up never creates it. */
  findRoom(roomId: string): Room | undefined {
    return this.#rooms.get(roomId);
  }

  /** The room, which must exist (throws NotFoundError). */
  room(roomId: string): Room {
    const room = this.#rooms.get(roomId);
    if (!room) throw new NotFoundError(`room ${roomId} does not exist`);
    return room;
  }

  /** The room, created when it does not exist yet (to join it at once: an empty room closes with its last participant). */
  openRoom(roomId: string): Room {
    if (this.#closed) throw new InvalidStateError('the SFU is closed');
    let room = this.#rooms.get(roomId);
    if (!room) {
      const created = new Room(roomId, (join: JoinOptions) => this.#participantInit(roomId, join), this.#logger, this.metrics);
      created.once('@close', () => {
        if (this.#rooms.get(roomId) === created) this.#rooms.delete(roomId);
        this.#logger.info({ roomId }, 'room closed');
        this.observer.roomClosed(roomId);
      });
      this.#rooms.set(roomId, created);
      this.#logger.info({ roomId }, 'room created');
      this.observer.roomCreated(created);
      room = created;
    }
    return room;
  }

  dump(): SfuDump {
    const dump: SfuDump = { rooms: [], participants: 0, publishedTracks: 0, downTracks: 0, peerConnections: 0 };
    for (const room of this.#rooms.values()) {
      const participants = [...room.participants.values()].map((p) => ({
        identity: p.identity,
        publishedTracks: p.publishedTracks.size,
        downTracks: p.subscriber.downTracks.size,
      }));
      for (const p of room.participants.values()) dump.peerConnections += p.peerConnectionCount;
      dump.rooms.push({ id: room.id, participants });
      dump.participants += participants.length;
      dump.publishedTracks += participants.reduce((n, p) => n + p.publishedTracks, 0);
      dump.downTracks += participants.reduce((n, p) => n + p.downTracks, 0);
    }
    return dump;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const room of [...this.#rooms.values()]) room.close();
    this.#rooms.clear();
    this.#negotiations.close();
    resetListenerErrorReporter(this.#reportListenerError);
  }

  #participantInit(roomId: string, join: JoinOptions) {
    return {
      ...join,
      options: this.options,
      negotiationQueue: this.#negotiations,
      sharedPorts: this.#sharedPorts,
      metrics: this.metrics,
      logger: this.#logger.child({ roomId, participantId: join.identity }),
    };
  }
}
