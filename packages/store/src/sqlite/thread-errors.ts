import {
  IdempotencyKeyTaken,
  NotFoundInStore,
  StorageUnavailable,
  UnstorableValue,
  WriterOverloaded,
} from '../store.js';

/**
 * An error as it crosses from the writer thread to the main one. `postMessage` would copy an `Error` but not its
 * class or its own fields, and the server decides answers by class (`instanceof StorageUnavailable` → 503, …), so
 * each store error is sent as its name and fields and rebuilt with its own constructor on the other side.
 */
export type WireError =
  | { name: 'IdempotencyKeyTaken' }
  | { name: 'NotFoundInStore'; what: string }
  | { name: 'UnstorableValue'; field: string; message: string }
  | { name: 'StorageUnavailable'; reason: string; cause: { message: string; code?: string } | null }
  | { name: 'WriterOverloaded'; limit: number }
  | { name: 'Error'; errorName: string; message: string; stack?: string; code?: string };

export function toWire(error: unknown): WireError {
  if (error instanceof IdempotencyKeyTaken) return { name: 'IdempotencyKeyTaken' };
  if (error instanceof NotFoundInStore) return { name: 'NotFoundInStore', what: error.what };
  if (error instanceof UnstorableValue) return { name: 'UnstorableValue', field: error.field, message: error.message };
  if (error instanceof WriterOverloaded) return { name: 'WriterOverloaded', limit: error.limit };
  if (error instanceof StorageUnavailable) {
    const cause = error.cause as { message?: unknown; code?: unknown } | undefined;
    return {
      name: 'StorageUnavailable',
      reason: error.reason,
      cause:
        cause === undefined
          ? null
          : { message: String(cause.message), ...(typeof cause.code === 'string' && { code: cause.code }) },
    };
  }
  const e = error instanceof Error ? error : new Error(String(error));
  const code = (e as { code?: unknown }).code;
  return {
    name: 'Error',
    errorName: e.name,
    message: e.message,
    ...(e.stack !== undefined && { stack: e.stack }),
    ...(typeof code === 'string' && { code }),
  };
}

export function fromWire(wire: WireError): Error {
  switch (wire.name) {
    case 'IdempotencyKeyTaken':
      return new IdempotencyKeyTaken();
    case 'NotFoundInStore':
      return new NotFoundInStore(wire.what);
    case 'UnstorableValue':
      return new UnstorableValue(wire.field, wire.message);
    case 'WriterOverloaded':
      return new WriterOverloaded(wire.limit);
    case 'StorageUnavailable': {
      const cause = wire.cause === null ? undefined : Object.assign(new Error(wire.cause.message), wire.cause);
      return new StorageUnavailable(wire.reason, { cause });
    }
    case 'Error': {
      // A fault of the code (a 500): keep what a log line needs to find it, the writer thread's stack included.
      const error = new Error(wire.message);
      error.name = wire.errorName;
      if (wire.stack !== undefined) error.stack = wire.stack;
      if (wire.code !== undefined) Object.assign(error, { code: wire.code });
      return error;
    }
  }
}
