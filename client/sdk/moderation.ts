import type { ClientMessage, ParticipantInfo, ServerMessage } from '../../signaling/messages.js';
import { ClientErrorCode, RequestError } from './errors.js';
import type { LocalTrack } from './local-track.js';
import type { RemoteParticipant } from './participant.js';
import type { RoomEvents } from './room-types.js';

type Emit = <K extends keyof RoomEvents>(event: K, ...args: RoomEvents[K]) => void;
type WithoutRequestId<T> = T extends unknown ? Omit<T, 'requestId'> : never;
/** The requests answered with `requestDone` (docs/PROTOCOL.md, "Moderation"). */
export type ModerationRequest = WithoutRequestId<Extract<ClientMessage, { type: 'updateMetadata' | 'muteTrack' | 'muteParticipantTrack' | 'removeParticipant' | 'updateParticipant' }>>;

export interface ModerationHooks {
  /** Sends on the session's socket (queued while a resume is under way); false when it cannot. */
  send(msg: ClientMessage): boolean;
  emit: Emit;
  participants: ReadonlyMap<string, RemoteParticipant>;
  localTrack(trackId: string): LocalTrack | undefined;
  /** The server unpublished one of this client's tracks (a permission taken away): stop sending it, then tell the app. */
  localTrackRemoved(trackId: string, reason: string): void;
}

interface Pending {
  type: string;
  resolve(): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * This client's side of moderation: requests that resolve on `requestDone` (or reject with the server's error),
 * its own participant info as the server last described it (live permissions and metadata), and the server's
 * moderation messages turned into Room events. Permissions changed by a moderator last for the session: after a
 * rejoin they are the token's again (`reset`).
 */
export class Moderation {
  #local: ParticipantInfo;
  readonly #pending = new Map<number, Pending>();
  #nextRequestId = 1;

  constructor(
    local: ParticipantInfo,
    private readonly timeoutMs: number,
    private readonly hooks: ModerationHooks,
  ) {
    this.#local = local;
  }

  /** This client as the server last described it: permissions (live), metadata, name. */
  get local(): ParticipantInfo {
    return this.#local;
  }

  static handles(msg: ServerMessage | { type: string }): boolean {
    return ['requestDone', 'participantUpdated', 'trackMuted', 'unmuteRequested'].includes(msg.type);
  }

  /** Sends `msg` with a fresh requestId; resolves on its `requestDone`, rejects with a RequestError on its `error`. */
  request(msg: ModerationRequest): Promise<void> {
    const requestId = this.#nextRequestId++;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.#settle(requestId, new RequestError(ClientErrorCode.TIMEOUT, `no reply to ${msg.type} within ${this.timeoutMs} ms`, msg.type)), this.timeoutMs);
      this.#pending.set(requestId, { type: msg.type, resolve, reject, timer });
      if (!this.hooks.send({ ...msg, requestId } as ClientMessage)) {
        this.#settle(requestId, new RequestError(ClientErrorCode.CONNECTION_CLOSED, 'the signaling socket is closed', msg.type));
      }
    });
  }

  /** An `error` about one of these requests rejects it; returns whether it was one. */
  handleError(msg: Extract<ServerMessage, { type: 'error' }>): boolean {
    if (msg.requestId === undefined || !this.#pending.has(msg.requestId)) return false;
    this.#settle(msg.requestId, new RequestError(msg.code, msg.message, msg.requestType ?? this.#pending.get(msg.requestId)!.type));
    return true;
  }

  /** The server's own-track `trackUnpublished` (a permission taken away); returns whether it was one. */
  handleOwnUnpublish(msg: Extract<ServerMessage, { type: 'trackUnpublished' }>, localIdentity: string): boolean {
    if (msg.participantIdentity !== localIdentity) return false;
    this.hooks.localTrackRemoved(msg.trackId, msg.reason ?? 'unpublished');
    return true;
  }

  handle(msg: ServerMessage): void {
    const { emit } = this.hooks;
    switch (msg.type) {
      case 'requestDone':
        this.#settle(msg.requestId);
        return;
      case 'participantUpdated': {
        if (msg.participant.identity === this.#local.identity) {
          this.#local = msg.participant;
          emit('localParticipantUpdated', this.#local);
          return;
        }
        const participant = this.hooks.participants.get(msg.participant.identity);
        if (participant === undefined) return;
        participant.update(msg.participant);
        emit('participantUpdated', participant);
        return;
      }
      case 'trackMuted': {
        const local = this.hooks.localTrack(msg.trackId);
        if (local !== undefined) {
          local.muted = msg.muted;
          // Muted by a moderator: nothing of it goes out any more, so the local track says so too.
          if (msg.muted && msg.by !== undefined) local.track.enabled = false;
          emit('localTrackMuted', msg.trackId, msg.muted, ...(msg.by !== undefined ? [msg.by] : []));
          return;
        }
        const participant = this.hooks.participants.get(msg.participantIdentity);
        const info = participant?.tracks.get(msg.trackId);
        if (participant === undefined || info === undefined) return;
        info.muted = msg.muted;
        emit('trackMuted', info, participant, msg.muted, ...(msg.by !== undefined ? [msg.by] : []));
        return;
      }
      case 'unmuteRequested':
        emit('unmuteRequested', msg.trackId, msg.by);
        return;
    }
  }

  /** A rejoin: the new session's own info (the token's permissions again); requests of the old session fail. */
  reset(local: ParticipantInfo): void {
    this.#local = local;
    this.close('the session was replaced by a rejoin');
  }

  /** Requests still waiting fail (the room closed, or a rejoin replaced the session). */
  close(reason = 'the room was disconnected'): void {
    for (const [requestId, pending] of [...this.#pending]) this.#settle(requestId, new RequestError(ClientErrorCode.CONNECTION_CLOSED, reason, pending.type));
  }

  #settle(requestId: number, error?: Error): void {
    const pending = this.#pending.get(requestId);
    if (pending === undefined) return;
    this.#pending.delete(requestId);
    clearTimeout(pending.timer);
    if (error) pending.reject(error);
    else pending.resolve();
  }
}
