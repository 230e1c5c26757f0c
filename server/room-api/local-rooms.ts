import type { Logger } from 'pino';
import type { Cluster } from '../../cluster/index.js';
import type { Sfu } from '../../sfu/index.js';
import type { ParticipantInfo, SignalingService, TrackInfo } from '../../signaling/index.js';
import { ApiError, roomNotFound } from './api-error.js';
import type { ParticipantUpdate, RoomAdministrationPort } from './room-admin-port.js';
import type { RoomRegistry } from './room-registry.js';
import { DEFAULT_EMPTY_TIMEOUT_SECONDS, type CreateRoomBody, type RoomInfo, type SendDataBody } from './schemas.js';

export interface LocalRoomsDeps {
  nodeId: string;
  sfu: Sfu;
  signaling: SignalingService;
  cluster: Cluster;
  registry: RoomRegistry;
  /** Moderation: signaling's RoomAdministration. */
  admin: RoomAdministrationPort;
  /** rtc.maxDataMessageBytes: the largest payload a data message may carry. */
  maxDataMessageBytes: number;
  logger: Logger;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;

/**
 * The room service's operations on rooms this node serves (the routes send the others to their node). Each throws an
 * ApiError (or a coded error from RoomAdministration) on bad input.
 */
export class LocalRooms {
  readonly #deps: LocalRoomsDeps;

  constructor(deps: LocalRoomsDeps) {
    this.#deps = deps;
  }

  /** Creates the room here (its lease is this node's), or returns it as it is when it exists. */
  create(body: CreateRoomBody): { room: RoomInfo; created: boolean } {
    const { registry, sfu } = this.#deps;
    const { record, created } = registry.create(
      {
        name: body.name,
        maxParticipants: body.maxParticipants ?? 0,
        emptyTimeoutSeconds: body.emptyTimeoutSeconds ?? DEFAULT_EMPTY_TIMEOUT_SECONDS,
        metadata: body.metadata ?? '',
      },
      sfu.findRoom(body.name) !== undefined,
    );
    if (created) this.#deps.logger.info({ roomId: record.name, maxParticipants: record.maxParticipants, emptyTimeoutSeconds: record.emptyTimeoutSeconds }, 'room created over the API');
    return { room: this.info(body.name)!, created };
  }

  list(): RoomInfo[] {
    return this.#deps.registry.list().map((record) => this.info(record.name)!);
  }

  info(room: string): RoomInfo | undefined {
    const record = this.#deps.registry.get(room);
    if (!record) return undefined;
    const { createdBy: _, ...settings } = record;
    return { ...settings, nodeId: this.#deps.nodeId, numParticipants: this.#deps.sfu.findRoom(room)?.participants.size ?? 0 };
  }

  participants(room: string): ParticipantInfo[] {
    this.#mustExist(room);
    // An API-created room nobody has joined yet has no SFU room: nobody is in it.
    return this.#deps.sfu.findRoom(room) ? this.#deps.admin.listParticipants(room) : [];
  }

  /** Everyone is told (`leave` room-deleted, close 4015) and disconnected; the room and its lease are gone. */
  async delete(room: string): Promise<void> {
    this.#mustExist(room);
    const { registry, signaling, sfu, cluster } = this.#deps;
    registry.remove(room);
    signaling.deleteRoom(room);
    sfu.findRoom(room)?.close();
    await cluster.release(room);
    this.#deps.logger.info({ roomId: room }, 'room deleted over the API');
  }

  updateMetadata(room: string, metadata: string): RoomInfo {
    this.#mustExist(room);
    this.#deps.registry.setMetadata(room, metadata);
    this.#deps.signaling.broadcast(room, { type: 'roomUpdated', metadata });
    return this.info(room)!;
  }

  /** Sends a data message from the server (`from` is ""): returns to how many participants' channels it went. */
  sendData(room: string, body: SendDataBody): { delivered: number } {
    this.#mustExist(room);
    const text = (body.encoding ?? 'text') === 'text';
    if (!text && !BASE64.test(body.payload)) throw new ApiError(400, 'SCHEMA_VIOLATION', 'payload is not valid base64 (encoding "base64")');
    const payload = text ? Buffer.from(body.payload, 'utf8') : Buffer.from(body.payload, 'base64');
    const limit = this.#deps.maxDataMessageBytes;
    if (payload.length > limit) throw new ApiError(413, 'DATA_TOO_LARGE', `data payload is ${payload.length} bytes; the limit is ${limit} (rtc.maxDataMessageBytes)`);
    const sfuRoom = this.#deps.sfu.findRoom(room);
    if (!sfuRoom) return { delivered: 0 };
    const delivered = sfuRoom.sendServerData({
      payload,
      text,
      reliable: body.reliable ?? true,
      ...(body.topic ? { topic: body.topic } : {}),
      ...(body.destinationIdentities ? { to: body.destinationIdentities } : {}),
    });
    return { delivered };
  }

  removeParticipant(room: string, identity: string, by: string): void {
    this.#deps.admin.removeParticipant(room, identity, by);
  }

  muteTrack(room: string, identity: string, trackId: string, muted: boolean, by: string): TrackInfo {
    return this.#deps.admin.muteTrack(room, identity, trackId, muted, by);
  }

  updateParticipant(room: string, identity: string, update: ParticipantUpdate, by: string): ParticipantInfo {
    return this.#deps.admin.updateParticipant(room, identity, update, by);
  }

  #mustExist(room: string): void {
    if (!this.#deps.registry.get(room) && !this.#deps.sfu.findRoom(room)) throw roomNotFound(room);
  }
}
