package dev.concierge.sdk.internal

import dev.concierge.sdk.ApiException
import dev.concierge.sdk.ConciergeException
import dev.concierge.sdk.NetworkException
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.launch
import okhttp3.HttpUrl
import okhttp3.Request
import java.io.IOException
import java.io.InterruptedIOException

/**
 * One SSE connection as a cold flow (STYLE pattern 14): collecting it opens the connection, and its `awaitClose`
 * cancels the OkHttp call, which closes the socket at once, so a cancelled collector leaves nothing open.
 *
 * The call is run with `execute()` on the IO dispatcher rather than `enqueue()`: a stream holds its thread for
 * hours, and enqueued calls count against the dispatcher's five-per-host limit that the app's other calls share.
 *
 * A non-2xx answer ends the flow with its [ApiException]; a cut, reset or silent link (the stream client's read
 * timeout) with a [ConciergeException] for the network; a clean end of the body completes the flow.
 * The SDK's other internals: docs/design/kotlin-sdk.md.
 */
internal fun Transport.sseConnection(
    url: HttpUrl,
    bearer: String,
    lastEventId: String?,
): Flow<SseItem> =
    callbackFlow {
        val request =
            Request
                .Builder()
                .url(url)
                .header("Accept", "text/event-stream")
                .header("Authorization", "Bearer $bearer")
                .apply { if (lastEventId != null) header("Last-Event-ID", lastEventId) }
                .build()
        val call = streamClient.newCall(request)
        launch(Dispatchers.IO) {
            try {
                call.execute().use { response ->
                    if (!response.isSuccessful) {
                        val text =
                            try {
                                response.body.string()
                            } catch (_: IOException) {
                                "" // The error body is a courtesy; its status is enough.
                            }
                        val headers = response.headers
                        val retryAfter = parseRetryAfter(headers["retry-after"])
                        throw ApiException.from(response.code, decodeEnvelope(text), headers, retryAfter)
                    }
                    val source = response.body.source()
                    val parser = SseParser()
                    var first = true
                    while (true) {
                        val line = source.readUtf8Line() ?: break
                        if (first) {
                            first = false
                            send(SseItem.Opened)
                        }
                        parser.line(line)?.let { send(it) }
                    }
                }
                close()
            } catch (e: CancellationException) {
                throw e
            } catch (e: ConciergeException) {
                close(e)
            } catch (e: IOException) {
                // A read timeout here means three heartbeats passed in silence: the link is dead, not slow.
                val why = if (e is InterruptedIOException) "went silent" else "was cut: ${e.message}"
                close(NetworkException("The stream $why", e))
            }
        }
        awaitClose { call.cancel() }
    }
