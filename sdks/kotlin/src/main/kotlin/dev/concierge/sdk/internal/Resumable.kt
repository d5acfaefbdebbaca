package dev.concierge.sdk.internal

import dev.concierge.sdk.ApiException
import dev.concierge.sdk.NetworkException
import dev.concierge.sdk.RefreshException
import dev.concierge.sdk.RequestTimeoutException
import dev.concierge.sdk.UnauthorizedException
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlin.random.Random

/** The resume point of one live stream: the id of the last event handed out (or of the server's start frame). */
internal class StreamState(
    @Volatile var lastEventId: String?,
)

/** What the resumable loop yields: a live event, or an item its `onOpen` hook produced (a gap fill). */
internal sealed interface Item<out F> {
    class Live(
        val event: SseItem.Event,
    ) : Item<Nothing>

    class Fill<F>(
        val value: F,
    ) : Item<F>
}

/** The reconnection time until the server sends `retry:` (WHATWG leaves the default to the user agent). */
private const val DEFAULT_RETRY_MS = 2000L

/** A drop of a connection that was delivering is reconnected at once, with this much jitter at most. */
private const val QUICK_RECONNECT_MS = 250L
private const val MAX_RECONNECT_MS = 30_000L

/**
 * A server-sent event stream that survives drops (the twin of `@concierge/sdk`'s `internal/sse.ts`): it reconnects
 * after a network cut, a clean end (the server ends streams when a token lapses and on shutdown), a silent link,
 * a 429 or a 5xx, and every time it sends the last event id as `Last-Event-ID`, so the server replays exactly what
 * was missed. On a 401 it renews the credential once per connection attempt. Anything else (403, 404, a 400 for a
 * bad resume point, a failed refresh) ends it with the error.
 *
 * Delays: `Retry-After` when the server gave one; a connection that delivered events (or lived at least the
 * `retry:` period) reconnects at once, jittered up to 250 ms; consecutive failures back off with full jitter whose
 * base is the server's `retry:`, capped at 30 s.
 *
 * [onOpen] runs after each connection's first bytes (so the server has registered the subscription) and before
 * its events are handed out; what it returns is yielded first. The message streams fill gaps with it.
 */
internal fun <F> Transport.resumable(
    path: String,
    query: Map<String, Any?>,
    state: StreamState,
    onOpen: (suspend (resumeId: String?) -> List<F>)? = null,
): Flow<Item<F>> =
    flow {
        val url = url(path, query)
        var retryMs = DEFAULT_RETRY_MS
        var failures = 0
        var waitMs = 0L
        while (true) {
            if (waitMs > 0) delay(waitMs)
            waitMs = 0
            var opened = false
            var delivered = false
            var emitting = false
            var openedAt = 0L
            try {
                var bearer = credential.current()
                var renewed = false
                while (true) {
                    try {
                        sseConnection(url, bearer, state.lastEventId).collect { item ->
                            when (item) {
                                is SseItem.Opened -> {
                                    opened = true
                                    openedAt = System.currentTimeMillis()
                                    val fill = onOpen?.invoke(state.lastEventId) ?: emptyList()
                                    emitting = true
                                    for (value in fill) emit(Item.Fill(value))
                                    emitting = false
                                }
                                is SseItem.IdOnly -> state.lastEventId = item.id
                                is SseItem.Retry -> retryMs = item.ms
                                is SseItem.Event -> {
                                    // Every event with an id moves the resume point, wanted by the caller or not.
                                    if (!item.id.isNullOrEmpty()) state.lastEventId = item.id
                                    delivered = true
                                    emitting = true
                                    emit(Item.Live(item))
                                    emitting = false
                                }
                            }
                        }
                        break
                    } catch (e: UnauthorizedException) {
                        if (opened || renewed || e.code in NOT_REFRESHABLE) throw e
                        bearer = credential.renew(bearer) ?: throw e
                        renewed = true
                    }
                }
            } catch (e: Throwable) {
                // What the collector threw (or its cancellation) is its own: pass it on untouched.
                if (emitting || e is CancellationException || fatal(e)) throw e
                if (!opened) {
                    failures++
                    waitMs = (e as? ApiException)?.let { parseRetryAfter(it.headers["retry-after"]) }
                        ?: backoff(failures, retryMs)
                    continue
                }
            }
            // A connection that delivered events, or stayed up for a reconnection period, was healthy: resume at
            // once. One that keeps ending early without events is flapping and backs off like a failed attempt.
            val healthy = delivered || System.currentTimeMillis() - openedAt >= retryMs
            failures = if (healthy) 0 else failures + 1
            waitMs = if (failures == 0) Random.nextLong(QUICK_RECONNECT_MS) else backoff(failures, retryMs)
        }
    }

internal fun backoff(
    failures: Int,
    retryMs: Long = DEFAULT_RETRY_MS,
): Long = fullJitter(failures - 1, maxOf(retryMs, 100), MAX_RECONNECT_MS)

/**
 * Errors that end a stream instead of a reconnect: a failed refresh, and an answer that says the same request
 * will not succeed later (401 after the renewal, 403, 404, 400). Cuts, resets, timeouts, 429 and 5xx are drops.
 * Anything else (an event whose data is not JSON) is a bug to surface, not to loop on.
 */
internal fun fatal(error: Throwable): Boolean =
    when (error) {
        is RefreshException -> true
        is ApiException -> !shouldRetry(error)
        is NetworkException, is RequestTimeoutException -> false
        else -> true
    }
