import type { PublishedTrackInfo, Room, Sfu } from '../sfu/index.js';
import { newRoomSid, type WebhookParticipant, type WebhookRoom, type WebhookSender, type WebhookTrack } from '../webhooks/index.js';

interface WatchedRoom {
  room: WebhookRoom;
  // participant_left and track events carry the participant's sid and name, which the SFU's events do not repeat.
  participants: Map<string, WebhookParticipant>;
}

/**
 * Rooms created through the room service API (docs/API.md): each starts when created and finishes when it expires or
 * is deleted, not with its first and last participant (it outlives emptiness by its empty timeout).
 */
export interface CreatedRooms {
  keepsEmpty(room: string): boolean;
  observe(listener: { created(room: string): void; gone(room: string): void }): void;
}

/**
 * Turns the SFU's room, participant and track events into webhooks. Listeners only queue (WebhookSender.send
 * does no I/O), so neither the SFU nor signaling ever waits for a receiver. Each node reports the rooms it serves.
 * Returns the function that stops it.
 */
export function sendSfuEventsAsWebhooks(sfu: Sfu, sender: WebhookSender, created?: CreatedRooms): () => void {
  const rooms = new Map<string, WatchedRoom>();
  const start = (name: string): WatchedRoom => {
    let watched = rooms.get(name);
    if (watched) return watched;
    watched = { room: { name, sid: newRoomSid() }, participants: new Map() };
    rooms.set(name, watched);
    sender.send({ event: 'room_started', room: watched.room });
    return watched;
  };
  const finish = (name: string) => {
    const watched = rooms.get(name);
    if (!watched) return;
    rooms.delete(name);
    sender.send({ event: 'room_finished', room: watched.room });
  };
  let stopped = false;
  created?.observe({
    created: (name) => !stopped && start(name),
    gone: (name) => !stopped && !sfu.findRoom(name) && finish(name),
  });
  const onCreated = (room: Room) => watchRoom(room, start(room.id), sender);
  // An API-created room that empties lives on (its empty timer runs): it finishes when it is gone.
  const onClosed = (roomId: string) => !created?.keepsEmpty(roomId) && finish(roomId);
  sfu.observer.on('roomCreated', onCreated);
  sfu.observer.on('roomClosed', onClosed);
  return () => {
    stopped = true;
    sfu.observer.off('roomCreated', onCreated);
    sfu.observer.off('roomClosed', onClosed);
    rooms.clear();
  };
}

/** The Room drops these listeners itself when it closes. */
function watchRoom(room: Room, { room: roomInfo, participants }: WatchedRoom, sender: WebhookSender): void {
  const participantOf = (identity: string): WebhookParticipant => participants.get(identity) ?? { identity, sid: '' };
  room.on('participantJoined', (p) => {
    const participant: WebhookParticipant = { identity: p.identity, sid: p.sid, ...(p.name ? { name: p.name } : {}), joinedAt: p.joinedAt };
    participants.set(p.identity, participant);
    sender.send({ event: 'participant_joined', room: roomInfo, participant });
  });
  room.on('participantLeft', (identity, reason) => {
    sender.send({ event: 'participant_left', room: roomInfo, participant: participantOf(identity), reason });
    participants.delete(identity);
  });
  room.on('trackPublished', (track) => sender.send({ event: 'track_published', room: roomInfo, participant: participantOf(track.participantIdentity), track: trackOf(track) }));
  room.on('trackUnpublished', (track) => sender.send({ event: 'track_unpublished', room: roomInfo, participant: participantOf(track.participantIdentity), track: trackOf(track) }));
}

function trackOf(track: PublishedTrackInfo): WebhookTrack {
  return { sid: track.trackId, kind: track.kind, source: track.source, ...(track.name ? { name: track.name } : {}), ...(track.mimeType ? { mimeType: track.mimeType } : {}) };
}
