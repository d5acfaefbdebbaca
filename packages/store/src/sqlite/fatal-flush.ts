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
