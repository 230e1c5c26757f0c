// Building responses to a request (RFC 8489 §6.3): same method and transaction ID, SOFTWARE,
// MESSAGE-INTEGRITY when the request was authenticated, FINGERPRINT always.
import { MessageBuilder } from './stun/builder.js';
import { Attr, ERROR_REASONS, StunClass, messageType } from './stun/constants.js';
import { encodeErrorCode, encodeUnknownAttributes } from './stun/attributes.js';
import type { StunMessage } from './stun/message.js';

export class Responder {
  readonly #software: Buffer | null;

  constructor(software: string) {
    this.#software = software ? Buffer.from(software, 'utf8') : null;
  }

  success(req: StunMessage): MessageBuilder {
    return this.#start(req, StunClass.SuccessResponse);
  }

  error(req: StunMessage, code: number, reason = ERROR_REASONS[code] ?? 'Error'): MessageBuilder {
    return this.#start(req, StunClass.ErrorResponse).add(Attr.ErrorCode, encodeErrorCode(code, reason));
  }

  /** 420 with the UNKNOWN-ATTRIBUTES list (RFC 8489 §6.3.1.1, §14.9). */
  unknownAttributes(req: StunMessage, types: readonly number[]): MessageBuilder {
    return this.error(req, 420).add(Attr.UnknownAttributes, encodeUnknownAttributes(types));
  }

  #start(req: StunMessage, cls: StunClass): MessageBuilder {
    const b = new MessageBuilder(messageType(req.method, cls), req.transactionId);
    if (this.#software) b.add(Attr.Software, this.#software);
    return b;
  }
}

/** Finishes with FINGERPRINT, and MESSAGE-INTEGRITY when a key is given. */
export function finish(b: MessageBuilder, key: Buffer | null): Buffer {
  return b.finish({ integrityKey: key ?? undefined, fingerprint: true });
}
