package dev.concierge.sdk

import dev.concierge.sdk.internal.TokenCredential
import dev.concierge.sdk.internal.Transport
import dev.concierge.sdk.internal.allMessages
import dev.concierge.sdk.internal.body
import dev.concierge.sdk.internal.defaultHttpClient
import dev.concierge.sdk.internal.eventFlow
import dev.concierge.sdk.internal.field
import dev.concierge.sdk.internal.listPage
import dev.concierge.sdk.internal.messageFlow
import dev.concierge.sdk.internal.post
import dev.concierge.sdk.internal.segment
import dev.concierge.sdk.internal.send
import kotlinx.coroutines.flow.Flow
import kotlinx.serialization.builtins.ListSerializer
import kotlinx.serialization.builtins.serializer
import java.util.UUID

/**
 * The member client: what a member's app (Android, a JVM desktop app) uses with the short-lived member token the
 * org's backend minted. Thread-safe: share one per signed-in member. Every call is a `suspend fun`; every live
 * stream is a cold [Flow] that opens its connection when collected and closes it when the collector is cancelled.
 */
public class ConciergeClient(
    config: ConciergeConfig,
) {
    private val credential: TokenCredential
    private val transport: Transport

    init {
        require(config.token.isNotEmpty()) { "token is required." }
        // Any Org-API-Key prefix: `ck_live_`, or one made with `keys create --prefix` (docs/auth.md).
        require(!Regex("^[a-z]+_(live|sandbox)_").containsMatchIn(config.token)) {
            "This is an Org-API-Key: never ship it to a member app. Mint member tokens on your backend with " +
                "ConciergeServerClient.exchangeToken."
        }
        credential = TokenCredential(config.token, config.tokenExpiresAt, config.refreshToken, config.refreshSkewMs)
        transport =
            Transport(
                config.baseUrl,
                credential,
                config.httpClient ?: defaultHttpClient,
                config.maxRetries,
                config.timeoutMs,
                config.heartbeatMs,
            )
    }

    /** Replaces the token (say, the app got a new one another way). */
    public fun setToken(
        token: String,
        expiresAt: String? = null,
    ) {
        credential.set(token, expiresAt)
    }

    /** The member's conversations, newest activity first. */
    public suspend fun listConversations(externalUserID: String? = null): List<Conversation> =
        transport.call(
            field("conversations", ListSerializer(Conversation.serializer())),
            "GET",
            "/v1/conversations",
            mapOf(
                "externalUserID" to externalUserID,
            ),
        )

    public suspend fun getConversation(conversationId: String): Conversation =
        transport.call(Conversation.serializer(), "GET", "/v1/conversations/${segment(conversationId)}")

    /** Opens a new conversation for the member. */
    public suspend fun openConversation(
        title: String? = null,
        type: String? = null,
        idempotencyKey: String = UUID.randomUUID().toString(),
    ): Conversation =
        transport.call(
            Conversation.serializer(),
            "POST",
            "/v1/conversations",
            body =
                body(
                    "title" to title,
                    "type" to type,
                ),
            idempotencyKey = idempotencyKey,
        )

    /** One page of history, newest first; pass [MessagePage.nextCursor] back as [cursor] for the next one. */
    public suspend fun listMessages(
        conversationId: String,
        limit: Int? = null,
        cursor: String? = null,
    ): MessagePage = transport.listPage(conversationId, null, limit, cursor)

    /** The whole history, newest first, walking the cursor to the end (pages of [pageSize]). */
    public fun messages(
        conversationId: String,
        pageSize: Int? = null,
    ): Flow<Message> = transport.allMessages(conversationId, null, pageSize)

    /**
     * Posts once however often it is retried: one Idempotency-Key per call, reused on every retry. Pass your own
     * (say, one stored with an outbox entry) to make a retry across app restarts safe too.
     */
    public suspend fun sendMessage(
        conversationId: String,
        message: String,
        idempotencyKey: String = UUID.randomUUID().toString(),
    ): SendMessageResponse = transport.send(conversationId, null, body("message" to message), idempotencyKey)

    /** Moves the member's read mark forward to [messageId]. */
    public suspend fun markRead(
        conversationId: String,
        messageId: String,
    ): Conversation =
        transport.call(
            field("conversation", Conversation.serializer()),
            "POST",
            "/v1/conversations/${segment(conversationId)}/read",
            body =
                body(
                    "messageID" to messageId,
                ),
        )

    /** Tells the concierge side the member is typing (the server throttles to one a second). */
    public suspend fun typing(conversationId: String) {
        transport.post("/v1/conversations/${segment(conversationId)}/typing")
    }

    /**
     * New messages of one conversation, live, each exactly once and in order across drops. Cold: each collection
     * opens its own connection. With [after] (an event id) it resumes from there instead of starting live.
     */
    public fun streamMessages(
        conversationId: String,
        after: String? = null,
    ): Flow<Message> =
        transport.messageFlow(
            { cursor, limit -> transport.listPage(conversationId, null, limit, cursor) },
            "/v1/conversations/${segment(conversationId)}/stream",
            emptyMap(),
            0,
            after,
        )

    /** The latest [limit] messages (oldest first), then live: no gap and no repeat between the two. */
    public fun syncMessages(
        conversationId: String,
        limit: Int = 50,
    ): Flow<Message> =
        transport.messageFlow(
            { cursor, pageLimit -> transport.listPage(conversationId, null, pageLimit, cursor) },
            "/v1/conversations/${segment(conversationId)}/stream",
            emptyMap(),
            limit,
            null,
        )

    /** Every event of the member on one connection: messages, conversations, read marks, typing. */
    public fun events(after: String? = null): Flow<Event> = transport.eventFlow("/v1/stream", emptyMap(), after)
}
