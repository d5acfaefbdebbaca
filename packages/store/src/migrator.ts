import { randomBytes } from 'node:crypto';

/**
 * How a dialect keeps its schema version; the runner below decides what to run. Each step runs in one
 * transaction together with the record of its version, so a crash mid-migration leaves the previous version.
 */
export interface MigrationTarget {
  /** The schema version the database is at (0 when never migrated). */
  version(): Promise<number>;
  /** Runs `fn` while no other process migrates this database (PostgreSQL: an advisory lock). */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Runs one migration's SQL and records `version`, in one transaction; `serverSecret`, when given, is stored in
   * `meta` in that transaction too (the first migration makes it).
   */
  apply(version: number, sql: string, serverSecret: Buffer | null): Promise<void>;
}

function newer(v: number, target: number): Error {
  return new Error(`database schema v${v} is newer than this build knows (v${target})`);
}

/**
 * The one migration runner of both dialects: brings the schema up to date, or (with `apply` false) refuses a
 * database behind or ahead of this build. Several instances may start at once: one migrates while the others
 * wait, and they then find nothing left to do. Never edit a shipped migration: add a new one.
 */
export async function migrate(target: MigrationTarget, migrations: readonly string[], apply: boolean): Promise<void> {
  const latest = migrations.length;
  if (!apply) {
    const v = await target.version();
    if (v > latest) throw newer(v, latest);
    if (v < latest) throw new Error(`database schema v${v} needs migrating to v${latest}: run \`concierge migrate\``);
    return;
  }
  await target.exclusive(async () => {
    const v = await target.version();
    if (v > latest) throw newer(v, latest);
    // The server secret signs cursors and tickets: made once with the database, shared by every instance.
    for (let next = v; next < latest; next++)
      await target.apply(next + 1, migrations[next]!, next === 0 ? randomBytes(32) : null);
  });
}
