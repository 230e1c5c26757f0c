import { randomBytes } from 'node:crypto';

export type WebhookEventName = 'room_started' | 'room_finished' | 'participant_joined' | 'participant_left' | 'track_published' | 'track_unpublished';

export interface WebhookRoom {
  name: string;
  /** This lifetime of the room (a name reused later gets another sid). */
  sid: string;
}

export interface WebhookParticipant {
  identity: string;
  sid: string;
  name?: string;
  /** Unix ms. */
  joinedAt?: number;
}

export interface WebhookTrack {
  sid: string;
  kind: 'audio' | 'video';
  source: string;
  name?: string;
  mimeType?: string;
}

/** The JSON body POSTed to each receiver (docs/WEBHOOKS.md). */
export interface WebhookEvent {
  event: WebhookEventName;
  /** Unique per event; the same on every retry and for every URL: receivers deduplicate by it. */
  id: string;
  /** Unix ms when the node saw the event. */
  createdAt: number;
  /** The node serving the room (rooms live on one node). */
  nodeId: string;
  room: WebhookRoom;
  participant?: WebhookParticipant;
  track?: WebhookTrack;
  /** participant_left: why (left, disconnected, room-closed, ...). */
  reason?: string;
}

export function newEventId(): string {
  return `EV_${randomBytes(12).toString('base64url')}`;
}

export function newRoomSid(): string {
  return `RM_${randomBytes(9).toString('base64url')}`;
}
