import type { RemoteParticipant } from './participant.js';

/** A participant speaking now (LiveKit's `ActiveSpeakersChanged`), as the server last reported it. */
export interface ActiveSpeaker {
  identity: string;
  /** Loudness as the amplitude relative to full scale, 0..1 (LiveKit's scale): a close voice ~0.1–0.3, a distant one ~0.01–0.03. */
  level: number;
  /** The remote participant speaking; undefined when it is this client (`isLocal`). */
  participant: RemoteParticipant | undefined;
  /** This client is the speaker (its identity is `room.localIdentity`). */
  isLocal: boolean;
}

/**
 * The room's active speakers, loudest first, from the server's `activeSpeakers` messages (docs/PROTOCOL.md,
 * "Active speakers"): each names identities, which are resolved to this client's RemoteParticipant objects.
 */
export class ActiveSpeakers {
  private speakers: ActiveSpeaker[] = [];

  constructor(private readonly changed: (speakers: ActiveSpeaker[]) => void) {}

  get list(): readonly ActiveSpeaker[] {
    return this.speakers;
  }

  /** A server `activeSpeakers` message. Identities this client does not know (yet) are left out. */
  update(reported: readonly { identity: string; level: number }[], localIdentity: string, participants: ReadonlyMap<string, RemoteParticipant>): void {
    const speakers: ActiveSpeaker[] = [];
    for (const { identity, level } of reported) {
      const isLocal = identity === localIdentity;
      const participant = participants.get(identity);
      if (isLocal || participant !== undefined) speakers.push({ identity, level, participant, isLocal });
    }
    this.speakers = speakers;
    this.changed([...speakers]);
  }

  /** The session is gone (left, or joining again): nobody is known to speak. */
  clear(): void {
    if (this.speakers.length === 0) return;
    this.speakers = [];
    this.changed([]);
  }
}
