/**
 * Waiting on state, never on the clock: `Changes` wakes a waiter each time something it depends on changes, and
 * `until` re-checks a condition that has no change event of its own (a database row, a metrics line). Both
 * take an upper bound that only turns a hang into a failure naming what never happened: it is not a timing
 * assertion, so it is generous (a loaded two-core machine must never reach it).
 */

/** How long a wait may last before it is a failure; far above anything a loaded machine needs. */
export const GUARD_MS = 30_000;

export class Changes {
  private waiters = new Set<() => void>();

  /** Something a condition may depend on changed: every waiter re-checks. */
  notify(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Resolves once `check()` holds, re-checked on every `notify()`; rejects after `ms`. */
  async until(check: () => boolean, what: string, ms = GUARD_MS): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          this.waiters.delete(wake);
          resolve();
        }, left);
        this.waiters.add(wake);
      });
    }
  }
}

/**
 * Re-checks `check` every 10 ms until it holds; rejects after `ms`. For state that only a query can see: the
 * 10 ms is how often to look, not how long something takes.
 */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = GUARD_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Resolves once the wall clock has passed `epochMs` (a token's or ticket's expiry the server stamped with the
 * same clock). Used where the passing of time is itself what a test checks, not to let work finish.
 */
export async function clockPast(epochMs: number): Promise<void> {
  for (let left = epochMs - Date.now(); left >= 0; left = epochMs - Date.now())
    await new Promise((r) => setTimeout(r, left + 1));
}
