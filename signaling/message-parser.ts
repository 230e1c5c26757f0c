import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { ErrorCode, SignalingError } from './errors.js';
import { clientMessageSchemas, type ClientMessage } from './messages.js';

const checkers = new Map<string, TypeCheck<TSchema>>(
  Object.entries(clientMessageSchemas).map(([type, schema]) => [type, TypeCompiler.Compile(schema)]),
);

/** Parses one text frame into a validated client message, or throws a SignalingError saying what is wrong. */
export function parseClientMessage(text: string): ClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SignalingError(ErrorCode.MALFORMED_JSON, `frame is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof (value as { type?: unknown }).type !== 'string') {
    throw new SignalingError(ErrorCode.NOT_AN_OBJECT, 'a message must be a JSON object with a string "type"');
  }
  const type = (value as { type: string }).type;
  const checker = checkers.get(type);
  if (!checker) {
    throw new SignalingError(ErrorCode.UNKNOWN_MESSAGE_TYPE, `unknown message type "${type.slice(0, 64)}"`);
  }
  if (!checker.Check(value)) {
    const first = checker.Errors(value).First();
    const where = first?.path || '/';
    throw new SignalingError(ErrorCode.SCHEMA_VIOLATION, `${type}: ${where}: ${first?.message ?? 'invalid'}`, undefined, type);
  }
  return value as ClientMessage;
}
