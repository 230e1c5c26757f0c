import type { PublishedTrackInfo, Room, Sfu } from '../sfu/index.js';
import { newRoomSid, type WebhookParticipant, type WebhookRoom, type WebhookSender, type WebhookTrack } from '../webhooks/index.js';

interface WatchedRoom {
  room: WebhookRoom;
  // participant_left and track events carry the participant's sid and name, which the SFU's events do not repeat.
  participants: Map<string, WebhookParticipant>;
}

/**
 * Turns the SFU's room, participant and track events into webhooks. Listeners only queue (WebhookSender.send
 * does no I/O), so neither the SFU nor signaling ever waits for a receiver. Each node reports the rooms it serves.
 * Returns the function that stops it.
 */
export function sendSfuEventsAsWebhooks(sfu: Sfu, sender: WebhookSender): () => void {
  const rooms = new Map<string, WatchedRoom>();
  const onCreated = (room: Room) => {
    const watched: WatchedRoom = { room: { name: room.id, sid: newRoomSid() }, participants: new Map() };
    rooms.set(room.id, watched);
    sender.send({ event: 'room_started', room: watched.room });
    watchRoom(room, watched, sender);
  };
  const onClosed = (roomId: string) => {
    const watched = rooms.get(roomId);
    if (!watched) return;
    rooms.delete(roomId);
    sender.send({ event: 'room_finished', room: watched.room });
  };
  sfu.observer.on('roomCreated', onCreated);
  sfu.observer.on('roomClosed', onClosed);
  return () => {
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
