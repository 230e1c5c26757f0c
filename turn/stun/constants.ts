// STUN/TURN wire constants.
// RFC 8489 §5 (header, magic cookie), §18 (registries), RFC 8656 §18 (TURN methods, attributes, errors).

export const MAGIC_COOKIE = 0x2112a442;
export const HEADER_LENGTH = 20;

/** Message classes as the two class bits placed in the 16-bit type (RFC 8489 §5). */
export const enum StunClass {
  Request = 0x0000,
  Indication = 0x0010,
  SuccessResponse = 0x0100,
  ErrorResponse = 0x0110,
}

/** Methods (RFC 8489 §18.2, RFC 8656 §18). */
export const enum Method {
  Binding = 0x001,
  Allocate = 0x003,
  Refresh = 0x004,
  Send = 0x006,
  Data = 0x007,
  CreatePermission = 0x008,
  ChannelBind = 0x009,
}

/** Attribute types (RFC 8489 §18.3, RFC 8656 §18). */
export const enum Attr {
  MappedAddress = 0x0001,
  Username = 0x0006,
  MessageIntegrity = 0x0008,
  ErrorCode = 0x0009,
  UnknownAttributes = 0x000a,
  ChannelNumber = 0x000c,
  Lifetime = 0x000d,
  XorPeerAddress = 0x0012,
  Data = 0x0013,
  Realm = 0x0014,
  Nonce = 0x0015,
  XorRelayedAddress = 0x0016,
  RequestedAddressFamily = 0x0017,
  EvenPort = 0x0018,
  RequestedTransport = 0x0019,
  DontFragment = 0x001a,
  MessageIntegritySha256 = 0x001c,
  PasswordAlgorithm = 0x001d,
  UserHash = 0x001e,
  XorMappedAddress = 0x0020,
  ReservationToken = 0x0022,
  Priority = 0x0024,
  UseCandidate = 0x0025,
  Padding = 0x0026,
  ResponsePort = 0x0027,
  ConnectionId = 0x002a,
  AdditionalAddressFamily = 0x8000,
  AddressErrorCode = 0x8001,
  PasswordAlgorithms = 0x8002,
  AlternateDomain = 0x8003,
  Icmp = 0x8004,
  Software = 0x8022,
  AlternateServer = 0x8023,
  TransactionTransmitCounter = 0x8025,
  CacheTimeout = 0x8027,
  Fingerprint = 0x8028,
  IceControlled = 0x8029,
  IceControlling = 0x802a,
  ResponseOrigin = 0x802b,
  OtherAddress = 0x802c,
  Origin = 0x802f,
}

/**
 * Comprehension-required attributes this server understands (RFC 8489 §14: types 0x0000-0x7FFF are
 * comprehension-required; an unknown one in a request gets 420 with UNKNOWN-ATTRIBUTES).
 */
export const KNOWN_REQUIRED_ATTRIBUTES: ReadonlySet<number> = new Set<number>([
  Attr.MappedAddress,
  Attr.Username,
  Attr.MessageIntegrity,
  Attr.ErrorCode,
  Attr.UnknownAttributes,
  Attr.ChannelNumber,
  Attr.Lifetime,
  Attr.XorPeerAddress,
  Attr.Data,
  Attr.Realm,
  Attr.Nonce,
  Attr.XorRelayedAddress,
  Attr.RequestedAddressFamily,
  Attr.EvenPort,
  Attr.RequestedTransport,
  Attr.DontFragment,
  Attr.XorMappedAddress,
  Attr.ReservationToken,
  Attr.Priority,
  Attr.UseCandidate,
]);

/** Error codes (RFC 8489 §14.8, RFC 8656 §18 "STUN Error Response Codes"). */
export const ErrorCode = {
  TryAlternate: 300,
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  UnknownAttribute: 420,
  AllocationMismatch: 437,
  StaleNonce: 438,
  AddressFamilyNotSupported: 440,
  WrongCredentials: 441,
  UnsupportedTransportProtocol: 442,
  PeerAddressFamilyMismatch: 443,
  AllocationQuotaReached: 486,
  ServerError: 500,
  InsufficientCapacity: 508,
} as const;

export const ERROR_REASONS: Readonly<Record<number, string>> = {
  300: 'Try Alternate',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  420: 'Unknown Attribute',
  437: 'Allocation Mismatch',
  438: 'Stale Nonce',
  440: 'Address Family not Supported',
  441: 'Wrong Credentials',
  442: 'Unsupported Transport Protocol',
  443: 'Peer Address Family Mismatch',
  486: 'Allocation Quota Reached',
  500: 'Server Error',
  508: 'Insufficient Capacity',
};

/** REQUESTED-TRANSPORT protocol number for UDP (RFC 8656 §18.8). */
export const TRANSPORT_UDP = 17;
/** Address family codes in (XOR-)address attributes and REQUESTED-ADDRESS-FAMILY (RFC 8489 §14.1). */
export const FAMILY_IPV4 = 0x01;
export const FAMILY_IPV6 = 0x02;

/**
 * ChannelData channel numbers. RFC 8656 §12 narrows the range to 0x4000-0x4FFF, but RFC 5766 §11
 * allowed 0x4000-0x7FFF and coturn's clients (turnutils_uclient) still pick numbers above 0x4FFF,
 * so the older range is accepted: it is still unambiguous on the wire (first two bits 01).
 */
export const CHANNEL_MIN = 0x4000;
export const CHANNEL_MAX = 0x7fff;

/** Message type helpers (RFC 8489 §5: M11..M0 interleaved with C1 C0). */
export function messageType(method: number, cls: number): number {
  return ((method & 0x0f80) << 2) | ((method & 0x0070) << 1) | (method & 0x000f) | cls;
}

export function methodOf(type: number): number {
  return ((type & 0x3e00) >> 2) | ((type & 0x00e0) >> 1) | (type & 0x000f);
}

export function classOf(type: number): number {
  return type & 0x0110;
}
