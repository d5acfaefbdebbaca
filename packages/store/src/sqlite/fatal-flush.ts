/**
 * After a failed fsync the kernel may have dropped the dirty pages and cleared the error, so a retry could
 * "succeed" without the data on disk, and the batch is committed in SQLite's view though not durable. Nothing
 * in this process can tell what is on disk any more. PostgreSQL's answer to this ("fsyncgate", 2018) is ours:
 * stop at once, unanswered, and let the supervisor restart the process, whose SQLite recovery reads the log from
 * the disk as it really is. Exit status 70 (EX_SOFTWARE) tells it apart from a clean stop.
 */
export function fatalFlushFailure(error: Error): never {
  process.stderr.write(
    `${JSON.stringify({ level: 60, time: Date.now(), msg: 'fatal: the write-ahead log could not be flushed to disk; exiting so that recovery runs', err: { message: error.message, code: (error as { code?: string }).code } })}\n`,
  );
  process.exit(70);
}

/**
 * The writer thread ended without being asked to (a bug, or out of memory). The writes it held were answered 503
 * already; whether the last of them committed, and whether their events reached the streams, only the database
 * knows. So, as after a failed flush, the process stops (status 70) and the supervisor restarts it on the file as
 * it is: a stream then resumes from the log, exactly. The short delay lets those 503s leave the sockets first.
 */
export function fatalWriterLost(error: Error): void {
  process.stderr.write(
    `${JSON.stringify({ level: 60, time: Date.now(), msg: 'fatal: the SQLite writer thread stopped; exiting so that the server restarts on the database as it is', err: { message: error.message } })}\n`,
  );
  setTimeout(() => process.exit(70), 200);
}
