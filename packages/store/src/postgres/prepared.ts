import type pg from 'pg';

const names = new Map<string, string>();

/**
 * Runs a statement as a named prepared statement. node-postgres otherwise sends every query unnamed, so PostgreSQL
 * parses and plans it on each execution; named, each connection prepares it once and, after a few runs, reuses a
 * generic plan. On the single writer connection that planning time was the bottleneck of the send path.
 *
 * Names are handed out per distinct SQL text, so a name always means the same statement on every connection.
 */
export function query<R extends pg.QueryResultRow = pg.QueryResultRow>(
  client: pg.ClientBase | pg.Pool,
  text: string,
  values: unknown[] = [],
): Promise<pg.QueryResult<R>> {
  let name = names.get(text);
  if (name === undefined) {
    name = `concierge_${names.size}`;
    names.set(text, name);
  }
  return client.query<R>({ name, text, values });
}
