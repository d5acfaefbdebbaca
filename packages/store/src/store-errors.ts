/** The errors the store throws for what callers must tell apart (the server maps each to an answer). */

/** Thrown when a referenced row does not exist (for example the conversation of a message). */
export class NotFoundInStore extends Error {
  constructor(readonly what: string) {
    super(`${what} not found`);
    this.name = 'NotFoundInStore';
  }
}

/** Thrown when a value cannot be stored (for example text with a NUL character in PostgreSQL). */
export class UnstorableValue extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'UnstorableValue';
  }
}

/**
 * Thrown when storage cannot do its work for reasons outside the code's control: a full disk, an I/O error,
 * read-only or missing files, a lock held past the busy timeout, the database server down or out of resources.
 * Retrying later may succeed (the server answers 503 UNAVAILABLE with Retry-After). `cause` is the driver's error.
 */
export class StorageUnavailable extends Error {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`storage unavailable: ${reason}`, options);
    this.name = 'StorageUnavailable';
  }
}

/**
 * Thrown, with nothing written, when more writes wait for the writer than it may queue (`writeQueueMax`): clients
 * send faster than the disk flushes, and queueing more would only grow memory. Retrying shortly may succeed (503
 * UNAVAILABLE with Retry-After). Not a storage fault: the disk works, it is busy.
 */
export class WriterOverloaded extends Error {
  constructor(readonly limit: number) {
    super(`${limit} writes already wait for the writer`);
    this.name = 'WriterOverloaded';
  }
}
