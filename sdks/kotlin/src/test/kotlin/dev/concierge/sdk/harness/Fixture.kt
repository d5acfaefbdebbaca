package dev.concierge.sdk.harness

import dev.concierge.sdk.ConciergeClient
import dev.concierge.sdk.ConciergeConfig
import dev.concierge.sdk.ConciergeServerClient
import dev.concierge.sdk.TokenGrant
import okhttp3.OkHttpClient
import okhttp3.Request

/**
 * One real server of [store] (shared, see [Servers]) with a fault proxy of this test's own in front of it. Clients
 * built here talk through the proxy; [direct] talks to the server itself, to set up and to check what happened.
 */
class Fixture(
    val store: Store,
    vararg serverArgs: String,
) : AutoCloseable {
    val server = Servers.get(store, *serverArgs)
    val proxy = FaultProxy(server.url)

    /** The server client, straight to the server. */
    val direct = ConciergeServerClient(server.url, server.apiKey)

    /** The server client, through the proxy. */
    val admin = ConciergeServerClient(proxy.url, server.apiKey)

    /** A member token minted straight from the server. */
    suspend fun token(externalUserID: String): TokenGrant = direct.exchangeToken(externalUserID)

    /** A member client through the proxy, with a fresh token of [externalUserID]. */
    suspend fun member(
        externalUserID: String,
        configure: (ConciergeConfig) -> ConciergeConfig = { it },
    ): ConciergeClient {
        val t = token(externalUserID)
        return ConciergeClient(configure(ConciergeConfig(proxy.url, t.accessToken, t.expiresAt)))
    }

    override fun close() = proxy.close()
}

/** A unique id for a member or a message body of one test run, so tests sharing a server never meet. */
fun unique(prefix: String): String = "$prefix-${System.nanoTime().toString(36)}"

private val http = OkHttpClient()

/** The server's `concierge_sse_streams_open` gauge, from `GET /metrics` on its metrics listener: how many SSE streams it holds open. */
fun openStreams(server: TestServer): Int {
    val text =
        http.newCall(Request.Builder().url(server.metricsUrl).build()).execute().use {
            check(it.isSuccessful) { "GET ${server.metricsUrl}: ${it.code}" }
            it.body.string()
        }
    return text
        .lineSequence()
        .filter { it.startsWith("concierge_sse_streams_open") && !it.startsWith("concierge_sse_streams_opened") }
        .sumOf { it.substringAfterLast(' ').toDouble() }
        .toInt()
}
