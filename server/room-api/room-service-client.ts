import type { ParticipantInfo, TrackInfo } from '../../signaling/messages.js';
import { mintApiToken, type ApiGrants } from './api-token.js';
import type { ParticipantUpdate } from './room-admin-port.js';
import type { RoomInfo } from './schemas.js';

/** An error answer of the room service API: its HTTP status and `{code, message}`. */
export class RoomServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${status} ${code}: ${message}`);
    this.name = 'RoomServiceError';
  }
}

export interface CreateRoomOptions {
  maxParticipants?: number;
  emptyTimeoutSeconds?: number;
  metadata?: string;
}

export interface SendDataOptions {
  topic?: string;
  destinationIdentities?: string[];
  /** Default true. */
  reliable?: boolean;
}

/**
 * A typed Node client of the room service API (docs/API.md), like LiveKit's RoomServiceClient: it signs a fresh
 * 60-second token per request with the API key and secret, holding only the grants that request needs.
 */
export class RoomServiceClient {
  readonly #url: string;

  constructor(
    url: string,
    private readonly apiKey: string,
    private readonly secret: string,
  ) {
    // http(s)://host:port, or the signaling URL (ws://host:port/v1/rtc) of any node.
    const parsed = new URL(url);
    if (parsed.protocol === 'ws:' || parsed.protocol === 'wss:') parsed.protocol = parsed.protocol === 'wss:' ? 'https:' : 'http:';
    this.#url = parsed.origin;
  }

  /** Creates a room, or returns the existing one unchanged. */
  createRoom(name: string, options: CreateRoomOptions = {}): Promise<RoomInfo> {
    return this.#request('POST', '/api/v1/rooms', { roomCreate: true, room: name }, { name, ...options });
  }

  async listRooms(): Promise<RoomInfo[]> {
    return (await this.#request<{ rooms: RoomInfo[] }>('GET', '/api/v1/rooms', { roomList: true })).rooms;
  }

  getRoom(room: string): Promise<RoomInfo> {
    return this.#request('GET', `/api/v1/rooms/${encodeURIComponent(room)}`, { roomAdmin: true, room });
  }

  async deleteRoom(room: string): Promise<void> {
    await this.#request('DELETE', `/api/v1/rooms/${encodeURIComponent(room)}`, { roomCreate: true, room });
  }

  updateRoomMetadata(room: string, metadata: string): Promise<RoomInfo> {
    return this.#request('PATCH', `/api/v1/rooms/${encodeURIComponent(room)}`, { roomAdmin: true, room }, { metadata });
  }

  async listParticipants(room: string): Promise<ParticipantInfo[]> {
    return (await this.#request<{ participants: ParticipantInfo[] }>('GET', `${this.#roomPath(room)}/participants`, { roomAdmin: true, room })).participants;
  }

  async removeParticipant(room: string, identity: string): Promise<void> {
    await this.#request('DELETE', `${this.#roomPath(room)}/participants/${encodeURIComponent(identity)}`, { roomAdmin: true, room });
  }

  async mutePublishedTrack(room: string, identity: string, trackId: string, muted: boolean): Promise<TrackInfo> {
    const path = `${this.#roomPath(room)}/participants/${encodeURIComponent(identity)}/tracks/${encodeURIComponent(trackId)}/mute`;
    return (await this.#request<{ track: TrackInfo }>('POST', path, { roomAdmin: true, room }, { muted })).track;
  }

  async updateParticipant(room: string, identity: string, update: ParticipantUpdate): Promise<ParticipantInfo> {
    return (await this.#request<{ participant: ParticipantInfo }>('PATCH', `${this.#roomPath(room)}/participants/${encodeURIComponent(identity)}`, { roomAdmin: true, room }, update)).participant;
  }

  /** Sends `data` (text, or bytes sent as base64) from the server; resolves with how many participants it went to. */
  async sendData(room: string, data: string | Uint8Array, options: SendDataOptions = {}): Promise<number> {
    const payload = typeof data === 'string' ? { payload: data, encoding: 'text' } : { payload: Buffer.from(data).toString('base64'), encoding: 'base64' };
    return (await this.#request<{ delivered: number }>('POST', `${this.#roomPath(room)}/data`, { roomAdmin: true, room }, { ...payload, ...options })).delivered;
  }

  #roomPath(room: string): string {
    return `/api/v1/rooms/${encodeURIComponent(room)}`;
  }

  async #request<T>(method: string, path: string, grants: Partial<ApiGrants>, body?: unknown): Promise<T> {
    const token = await mintApiToken({ apiKey: this.apiKey, secret: this.secret, grants, ttlSeconds: 60 });
    const response = await fetch(`${this.#url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    const parsed = text ? (JSON.parse(text) as unknown) : undefined;
    if (!response.ok) {
      const error = (parsed ?? {}) as { code?: string; message?: string };
      throw new RoomServiceError(response.status, error.code ?? 'HTTP_ERROR', error.message ?? response.statusText);
    }
    return parsed as T;
  }
}
