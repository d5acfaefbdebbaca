package dev.concierge.sdk.harness

import kotlinx.coroutines.delay
import kotlinx.coroutines.withTimeout

/**
 * Waits until [check] holds, looking every 10 ms, failing after [ms]: a bound on the wait, not a timing assertion.
 * The state it waits on is what proves the next step may run (a connection open, a message received).
 */
suspend fun until(
    what: String,
    ms: Long = 20_000,
    check: suspend () -> Boolean,
) {
    val deadline = System.currentTimeMillis() + ms
    while (!check()) {
        if (System.currentTimeMillis() > deadline) throw AssertionError("timed out waiting for $what")
        delay(10)
    }
}

/** [block], or a failure naming [what] after [ms]. */
suspend fun <T> within(
    ms: Long,
    what: String,
    block: suspend () -> T,
): T =
    try {
        withTimeout(ms) { block() }
    } catch (e: kotlinx.coroutines.TimeoutCancellationException) {
        throw AssertionError("timed out waiting for $what", e)
    }
