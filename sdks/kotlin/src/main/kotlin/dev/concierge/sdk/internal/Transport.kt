package dev.concierge.sdk.internal

import dev.concierge.sdk.ApiException
import dev.concierge.sdk.NetworkException
import dev.concierge.sdk.RequestTimeoutException
import kotlinx.coroutines.delay
import kotlinx.coroutines.suspendCancellableCoroutine
import kotlinx.serialization.DeserializationStrategy
import kotlinx.serialization.json.JsonElement
import okhttp3.Call
import okhttp3.Callback
import okhttp3.Headers
import okhttp3.HttpUrl
import okhttp3.HttpUrl.Companion.toHttpUrl
import okhttp3.MediaType.Companion.toMediaType
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody
import okhttp3.Response
import java.io.IOException
import java.io.InterruptedIOException
import java.util.UUID
import java.util.concurrent.TimeUnit
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException

/** One answer, body read in full. */
internal class Answer(
    val status: Int,
    val headers: Headers,
    val body: String,
) {
    /** The server replayed the stored answer of an earlier request with the same Idempotency-Key. */
    val replayed: Boolean get() = headers["idempotent-replayed"] == "true"
}

/** 401 codes a refresh cannot cure: they are about another credential than the member token. */
internal val NOT_REFRESHABLE: Set<String> = setOf("API_KEY_INVALID", "TICKET_INVALID")

private val JSON_TYPE = "application/json".toMediaType()

/**
 * The one retry policy (STYLE pattern 9), the twin of `@concierge/sdk`'s `internal/transport.ts`. Each call:
 * - gets one Idempotency-Key when it is a POST, reused on every retry and on the re-send after a refresh;
 * - retries network failures, timeouts, 408, 429 and 5xx (and what the server marks `retryable`, such as a 409
 *   `IDEMPOTENCY_KEY_IN_USE`) up to `maxRetries` times, waiting `Retry-After` when given and full jitter
 *   otherwise; `x-should-retry` overrides all of that either way;
 * - on a 401 renews the credential once and re-sends once, outside the `maxRetries` budget.
 */
internal class Transport(
    baseUrl: String,
    val credential: Credential,
    val client: OkHttpClient,
    val maxRetries: Int,
    val timeoutMs: Long,
    val heartbeatMs: Long,
) {
    private val base: String = baseUrl.trimEnd('/')

    init {
        require(base.startsWith("http://") || base.startsWith("https://")) { "baseUrl must be an http(s) URL." }
        base.toHttpUrl()
    }

    /**
     * The client live streams use: the same pool and dispatcher, no call timeout (a stream lives for hours), and a
     * read timeout of three heartbeats, so a connection that goes silent (no event, no `: heartbeat`) fails its
     * read and is resumed.
     */
    val streamClient: OkHttpClient by lazy {
        client
            .newBuilder()
            .callTimeout(0, TimeUnit.MILLISECONDS)
            .connectTimeout(timeoutMs, TimeUnit.MILLISECONDS)
            .readTimeout(3 * heartbeatMs, TimeUnit.MILLISECONDS)
            .build()
    }

    /** [path] has its variable segments encoded already (see [segment]); null query values are left out. */
    fun url(
        path: String,
        query: Map<String, Any?> = emptyMap(),
    ): HttpUrl {
        val builder = "$base$path".toHttpUrl().newBuilder()
        for ((k, v) in query) if (v != null) builder.addQueryParameter(k, v.toString())
        return builder.build()
    }

    /** A call whose 2xx answer is decoded with [serializer]. */
    suspend fun <T> call(
        serializer: DeserializationStrategy<T>,
        method: String,
        path: String,
        query: Map<String, Any?> = emptyMap(),
        body: JsonElement? = null,
        idempotencyKey: String? = null,
    ): T = request(method, path, query, body, idempotencyKey) { it.decode(serializer) }

    /** Sends until a 2xx answer [decode]s, the retries run out, or an error is not worth retrying. */
    suspend fun <T> request(
        method: String,
        path: String,
        query: Map<String, Any?> = emptyMap(),
        body: JsonElement? = null,
        idempotencyKey: String? = null,
        decode: (Answer) -> T,
    ): T {
        val key = if (method == "POST") idempotencyKey ?: UUID.randomUUID().toString() else null
        val url = url(path, query)
        val payload = body?.toString()
        var retries = 0
        var renewed = false
        var bearer = credential.current()
        while (true) {
            val request =
                Request
                    .Builder()
                    .url(url)
                    .header("Accept", "application/json")
                    .header("Authorization", "Bearer $bearer")
                    .apply { if (key != null) header("Idempotency-Key", key) }
                    .method(
                        method,
                        when {
                            payload != null -> payload.toRequestBody(JSON_TYPE)
                            method == "POST" || method == "PUT" -> ByteArray(0).toRequestBody(null)
                            else -> null
                        },
                    ).build()
            val answer: Answer
            try {
                answer = attempt(request)
                // A 2xx that is not the JSON expected came from something between us and the server (a captive
                // portal, a proxy's page): a NetworkException, retried like one.
                if (answer.status in 200..299) return decode(answer)
            } catch (e: NetworkException) {
                if (retries >= maxRetries) throw e
                delay(fullJitter(retries++))
                continue
            } catch (e: RequestTimeoutException) {
                if (retries >= maxRetries) throw e
                delay(fullJitter(retries++))
                continue
            }
            val retryAfterMs = parseRetryAfter(answer.headers["retry-after"])
            val error = ApiException.from(answer.status, decodeEnvelope(answer.body), answer.headers, retryAfterMs)
            if (answer.status == 401 && !renewed && error.code !in NOT_REFRESHABLE) {
                val next = credential.renew(bearer)
                if (next != null) {
                    renewed = true
                    bearer = next
                    continue
                }
            }
            if (retries >= maxRetries || !shouldRetry(error)) throw error
            delay(retryAfterMs ?: fullJitter(retries))
            retries++
            bearer = credential.current()
        }
    }

    /**
     * One attempt under `timeoutMs`, body included, so a connection cut mid-body is a [NetworkException] here
     * (and retried), not a half answer. Cancelling the coroutine cancels the OkHttp call.
     */
    private suspend fun attempt(request: Request): Answer =
        suspendCancellableCoroutine { continuation ->
            val call = client.newCall(request)
            call.timeout().timeout(timeoutMs, TimeUnit.MILLISECONDS)
            continuation.invokeOnCancellation { call.cancel() }
            call.enqueue(
                object : Callback {
                    override fun onFailure(
                        call: Call,
                        e: IOException,
                    ) {
                        continuation.resumeWithException(classify(e, timeoutMs))
                    }

                    override fun onResponse(
                        call: Call,
                        response: Response,
                    ) {
                        val answer =
                            try {
                                response.use { Answer(it.code, it.headers, it.body.string()) }
                            } catch (e: IOException) {
                                continuation.resumeWithException(classify(e, timeoutMs))
                                return
                            }
                        continuation.resume(answer)
                    }
                },
            )
        }
}

/** A failed attempt: a timeout (OkHttp's call or read timeout) or any other I/O failure. */
internal fun classify(
    e: IOException,
    timeoutMs: Long,
): Exception =
    if (e is InterruptedIOException) {
        RequestTimeoutException("No answer within $timeoutMs ms.", e)
    } else {
        NetworkException("The request failed: ${e.message ?: e.javaClass.simpleName}", e)
    }

/** `x-should-retry` wins; then 408, 429 and 5xx; then the envelope's own `retryable` (IDEMPOTENCY_KEY_IN_USE). */
internal fun shouldRetry(error: ApiException): Boolean {
    when (error.headers["x-should-retry"]) {
        "true" -> return true
        "false" -> return false
    }
    if (error.status == 408 || error.status == 429 || error.status >= 500) return true
    return error.retryable
}
