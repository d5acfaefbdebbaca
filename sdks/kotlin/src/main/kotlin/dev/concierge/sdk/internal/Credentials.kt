package dev.concierge.sdk.internal

import dev.concierge.sdk.RefreshException
import dev.concierge.sdk.TokenGrant
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import java.time.Instant
import java.util.concurrent.atomic.AtomicReference

/** The bearer a transport sends, and how it recovers from a 401. */
internal interface Credential {
    /** The bearer to send now (after a proactive refresh, when one is due). */
    suspend fun current(): String

    /**
     * Called on a 401 for a request sent with [used]: the bearer to retry with, or null when there is nothing to
     * retry with (no hook). Throws [RefreshException] when the hook fails.
     */
    suspend fun renew(used: String): String?
}

/** The Org-API-Key: fixed, nothing to refresh. */
internal class StaticCredential(
    private val secret: String,
) : Credential {
    override suspend fun current(): String = secret

    override suspend fun renew(used: String): String? = null
}

internal fun parseInstantMs(value: String?): Long? =
    try {
        value?.let { Instant.parse(it).toEpochMilli() }
    } catch (_: Exception) {
        null
    }

/**
 * A member token with the refresh contract (wire contract, "Credentials"; the twin of `internal/credentials.ts`):
 * refresh [skewMs] before the known expiry; on a 401 refresh once; concurrent callers share one in-flight refresh
 * (single-flight, under a [Mutex]), and a 401 for a token that was already replaced retries with the new one instead of
 * refreshing again. A failed refresh is a [RefreshException] for everyone waiting on it, never retried here.
 *
 * The refresh runs in the coroutine of the caller that started it; the others wait on its result. If that caller is
 * cancelled mid-refresh, the waiters see the cancellation end the refresh and the next of them starts another.
 */
internal class TokenCredential(
    token: String,
    expiresAt: String?,
    private val hook: (suspend () -> TokenGrant)?,
    private val skewMs: Long,
) : Credential {
    private val mutex = Mutex()

    @Volatile private var token: String = token

    @Volatile private var expiresAtMs: Long? = parseInstantMs(expiresAt)
    private val inFlight = AtomicReference<CompletableDeferred<String>?>(null)

    fun set(
        token: String,
        expiresAt: String?,
    ) {
        this.token = token
        this.expiresAtMs = parseInstantMs(expiresAt)
    }

    override suspend fun current(): String {
        val used = token
        val expires = expiresAtMs
        if (hook != null && expires != null && System.currentTimeMillis() >= expires - skewMs) return refresh(used)
        // A refresh in flight means this token is being replaced: wait for the new one rather than send a stale one.
        return inFlight.get()?.awaitOrRetry(used) ?: token
    }

    override suspend fun renew(used: String): String? {
        if (hook == null) return null
        return refresh(used)
    }

    private suspend fun CompletableDeferred<String>.awaitOrRetry(used: String): String =
        try {
            await()
        } catch (e: RefreshFailedElsewhere) {
            refresh(used)
        }

    /** Refreshes unless [used] was already replaced, joining a refresh in flight. */
    private suspend fun refresh(used: String): String {
        val hook = this.hook ?: return token
        var mine: CompletableDeferred<String>? = null
        val pending =
            mutex.withLock {
                inFlight.get() ?: run {
                    if (token != used) return token
                    CompletableDeferred<String>().also {
                        inFlight.set(it)
                        mine = it
                    }
                }
            }
        val owned = mine ?: return pending.awaitOrRetry(used)
        try {
            val grant =
                try {
                    hook()
                } catch (e: CancellationException) {
                    throw e
                } catch (e: Throwable) {
                    throw RefreshException("The token refresh hook failed.", e)
                }
            if (grant.accessToken.isEmpty()) throw RefreshException("The token refresh hook returned no token.")
            set(grant.accessToken, grant.expiresAt)
            owned.complete(grant.accessToken)
            return grant.accessToken
        } catch (e: CancellationException) {
            owned.completeExceptionally(RefreshFailedElsewhere())
            throw e
        } catch (e: Throwable) {
            owned.completeExceptionally(e)
            throw e
        } finally {
            inFlight.compareAndSet(owned, null)
        }
    }

    /** The caller running a refresh was cancelled: whoever waited on it starts its own. */
    private class RefreshFailedElsewhere : Exception()
}
