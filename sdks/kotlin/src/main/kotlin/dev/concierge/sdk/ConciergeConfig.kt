package dev.concierge.sdk

import okhttp3.OkHttpClient

/**
 * How a member's app reaches Concierge. Copied once by the client; nothing here is global.
 *
 * @property baseUrl where the server answers, e.g. `https://concierge.example.com`.
 * @property token the member token the org's backend minted (`POST /v1/auth/exchange`); never an Org-API-Key.
 * @property tokenExpiresAt when [token] expires (the exchange's `expiresAt`, ISO-8601), so the SDK can refresh
 *   [refreshSkewMs] before it lapses.
 * @property refreshToken asks the app's backend for a fresh member token. Called before expiry and on a 401, one call
 *   at a time however many requests need it.
 * @property maxRetries retries after the first attempt for network failures, 408, 429, 5xx and
 *   `IDEMPOTENCY_KEY_IN_USE`.
 * @property timeoutMs per attempt, body included; for streams, the time allowed to connect.
 * @property heartbeatMs the server's SSE heartbeat period (its `--heartbeat`): a stream silent for three of them is
 *   taken as dropped and resumed.
 * @property httpClient the OkHttpClient to use (say, the app's own, with its interceptors); by default one client is
 *   shared by every Concierge client of the process, as OkHttp recommends.
 */
public data class ConciergeConfig(
    val baseUrl: String,
    val token: String,
    val tokenExpiresAt: String? = null,
    val refreshToken: (suspend () -> TokenGrant)? = null,
    val refreshSkewMs: Long = 30_000,
    val maxRetries: Int = 2,
    val timeoutMs: Long = 30_000,
    val heartbeatMs: Long = 5_000,
    val httpClient: OkHttpClient? = null,
) {
    /** Without the token: a config may well end up in a log line. */
    override fun toString(): String =
        "ConciergeConfig(baseUrl=$baseUrl, token=<redacted>, tokenExpiresAt=$tokenExpiresAt, " +
            "refreshToken=${if (refreshToken == null) "null" else "<hook>"}, refreshSkewMs=$refreshSkewMs, " +
            "maxRetries=$maxRetries, timeoutMs=$timeoutMs, heartbeatMs=$heartbeatMs)"
}
