/** An error the room service API answers with `{code, message}` and `statusCode`. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Signaling's error codes (thrown by RoomAdministration) as HTTP statuses. */
const statusOfCode: Record<string, number> = {
  ROOM_NOT_FOUND: 404,
  PARTICIPANT_NOT_FOUND: 404,
  TRACK_NOT_FOUND: 404,
  PERMISSION_DENIED: 403,
  SCHEMA_VIOLATION: 400,
  WRONG_STATE: 409,
  ROOM_UNAVAILABLE: 503,
};

/** A coded error (SignalingError and the SFU's, which carry `code` or a known name) as an ApiError; others are bugs. */
export function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && statusOfCode[code]) return new ApiError(statusOfCode[code], code, (error as Error).message);
  return undefined;
}

export const roomNotFound = (room: string) => new ApiError(404, 'ROOM_NOT_FOUND', `no room "${room}" in the cluster`);
