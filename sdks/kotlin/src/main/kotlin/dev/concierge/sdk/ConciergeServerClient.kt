package dev.concierge.sdk

import dev.concierge.sdk.internal.StaticCredential
import dev.concierge.sdk.internal.Transport
import dev.concierge.sdk.internal.allMessages
import dev.concierge.sdk.internal.body
import dev.concierge.sdk.internal.defaultHttpClient
import dev.concierge.sdk.internal.eventFlow
import dev.concierge.sdk.internal.field
import dev.concierge.sdk.internal.json
import dev.concierge.sdk.internal.listPage
import dev.concierge.sdk.internal.messageFlow
import dev.concierge.sdk.internal.post
import dev.concierge.sdk.internal.runsOnAndroid
import dev.concierge.sdk.internal.segment
import dev.concierge.sdk.internal.send
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlinx.serialization.builtins.ListSerializer
import kotlinx.serialization.builtins.serializer
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.contentOrNull
import okhttp3.OkHttpClient
import java.util.UUID

/**
 * The server client: the org's JVM backend with its Org-API-Key. It mints member tokens, administers members, and
 * acts as the concierge (or on a member's behalf) in any conversation of the org.
 *
 * It refuses to start on Android, as the TypeScript server client refuses in browsers: anyone holding the app can
 * read a key shipped in it. [dangerouslyAllowAndroid] overrides that for a device that is not a member's (a
 * kiosk the org controls, an instrumented test).
 */
public class ConciergeServerClient(
    baseUrl: String,
    apiKey: String,
    httpClient: OkHttpClient? = null,
    maxRetries: Int = 2,
    timeoutMs: Long = 30_000,
    heartbeatMs: Long = 5_000,
    dangerouslyAllowAndroid: Boolean = false,
) {
    private val transport: Transport

    init {
        if (runsOnAndroid() && !dangerouslyAllowAndroid) {
            throw IllegalStateException(
                "ConciergeServerClient holds the Org-API-Key and refuses to run on Android. Use ConciergeClient with " +
                    "a member token there, or pass dangerouslyAllowAndroid = true if this device is not a member's.",
            )
        }
        require(apiKey.isNotEmpty()) { "apiKey is required." }
        transport =
            Transport(
                baseUrl,
                StaticCredential(apiKey),
                httpClient ?: defaultHttpClient,
                maxRetries,
                timeoutMs,
                heartbeatMs,
            )
    }

    /** Trades the Org-API-Key for a member token (and creates or updates the member's profile). */
    public suspend fun exchangeToken(
        externalUserID: String,
        displayName: String? = null,
        email: String? = null,
        tier: String? = null,
    ): TokenGrant =
        transport.call(
            TokenGrant.serializer(),
            "POST",
            "/v1/auth/exchange",
            body =
                body(
                    "externalUserID" to externalUserID,
                    "displayName" to displayName,
                    "email" to email,
                    "tier" to tier,
                ),
        )

    public suspend fun getMember(externalUserID: String): Member =
        transport.call(Member.serializer(), "GET", "/v1/members/${segment(externalUserID)}")

    /** One page of the org's members, newest first (archived members left out). */
    public suspend fun listMembers(
        limit: Int? = null,
        cursor: String? = null,
    ): MemberPage {
        val query = mapOf("limit" to limit, "cursor" to cursor)
        val page = transport.call(JsonObject.serializer(), "GET", "/v1/members", query)
        return MemberPage(
            json.decodeFromJsonElement(ListSerializer(Member.serializer()), page.getValue("members")),
            (page["nextCursor"] as? JsonPrimitive)?.contentOrNull,
        )
    }

    /**
     * Creates the member or updates the fields given; those left null keep their values (PUT: idempotent by
     * itself). [attributes] replaces the stored object whole. Restores an archived member.
     */
    public suspend fun setMember(
        externalUserID: String,
        displayName: String? = null,
        email: String? = null,
        tier: String? = null,
        attributes: JsonObject? = null,
    ): Member {
        val profile = body("displayName" to displayName, "email" to email, "tier" to tier)
        return transport.call(
            Member.serializer(),
            "PUT",
            "/v1/members/${segment(externalUserID)}",
            body = if (attributes == null) profile else JsonObject(profile + ("attributes" to attributes)),
        )
    }

    /**
     * Archives (offboards) the member: every token they hold stops working, no new one is issued, their streams
     * end; their conversations stay for the team. [setMember] restores them; [eraseMember] erases them. True when
     * there was such a member (now archived).
     */
    public suspend fun removeMember(
        externalUserID: String,
        retainBalance: Boolean? = null,
    ): Boolean =
        transport.call(
            field("archived", Boolean.serializer()),
            "DELETE",
            "/v1/members/${segment(externalUserID)}",
            mapOf("retainBalance" to retainBalance),
        )

    /**
     * Erases the member with their conversations, messages and every token they hold (a GDPR erasure request);
     * cannot be undone. True when there was such a member.
     */
    public suspend fun eraseMember(externalUserID: String): Boolean =
        transport.call(field("erased", Boolean.serializer()), "POST", "/v1/members/${segment(externalUserID)}/erase")

    /** Invalidates every token the member holds now; their open streams end at once. */
    public suspend fun revokeTokens(externalUserID: String): String =
        transport.call(
            field("revokedAt", String.serializer()),
            "POST",
            "/v1/members/${segment(externalUserID)}/revoke-tokens",
        )

    public suspend fun listConversations(externalUserID: String): List<Conversation> =
        transport.call(
            field("conversations", ListSerializer(Conversation.serializer())),
            "GET",
            "/v1/conversations",
            mapOf(
                "externalUserID" to externalUserID,
            ),
        )

    public suspend fun getConversation(
        conversationId: String,
        externalUserID: String,
    ): Conversation =
        transport.call(
            Conversation.serializer(),
            "GET",
            "/v1/conversations/${segment(conversationId)}",
            mapOf(
                "externalUserID" to externalUserID,
            ),
        )

    /** Opens a conversation for a member (creating the member if the org never exchanged a token for them). */
    public suspend fun openConversation(
        externalUserID: String,
        title: String? = null,
        type: String? = null,
        idempotencyKey: String = UUID.randomUUID().toString(),
    ): Conversation =
        transport.call(
            Conversation.serializer(),
            "POST",
            "/v1/conversations",
            body = body("externalUserID" to externalUserID, "title" to title, "type" to type),
            idempotencyKey = idempotencyKey,
        )

    public suspend fun listMessages(
        conversationId: String,
        externalUserID: String,
        limit: Int? = null,
        cursor: String? = null,
    ): MessagePage = transport.listPage(conversationId, externalUserID, limit, cursor)

    /** The whole history, newest first, walking the cursor to the end. */
    public fun messages(
        conversationId: String,
        externalUserID: String,
        pageSize: Int? = null,
    ): Flow<Message> = transport.allMessages(conversationId, externalUserID, pageSize)

    /**
     * Posts as the concierge ([authorId] names the agent; default `concierge`), or with [externalUserID] on that
     * member's behalf. Posts once however often it is retried.
     */
    public suspend fun sendMessage(
        conversationId: String,
        message: String,
        authorId: String? = null,
        externalUserID: String? = null,
        idempotencyKey: String = UUID.randomUUID().toString(),
    ): SendMessageResponse =
        transport.send(
            conversationId,
            externalUserID,
            body("message" to message, "authorID" to authorId),
            idempotencyKey,
        )

    /** Moves the concierge's read mark (or, with [externalUserID], the member's). */
    public suspend fun markRead(
        conversationId: String,
        messageId: String,
        externalUserID: String? = null,
    ): Conversation =
        transport.call(
            field("conversation", Conversation.serializer()),
            "POST",
            "/v1/conversations/${segment(conversationId)}/read",
            mapOf("externalUserID" to externalUserID),
            body("messageID" to messageId),
        )

    /** The concierge is typing (or, with [externalUserID], the member). */
    public suspend fun typing(
        conversationId: String,
        externalUserID: String? = null,
    ) {
        transport.post("/v1/conversations/${segment(conversationId)}/typing", mapOf("externalUserID" to externalUserID))
    }

    /** One conversation's new messages as [externalUserID] sees them, gapless ([ConciergeClient.streamMessages]). */
    public fun streamMessages(
        conversationId: String,
        externalUserID: String,
        after: String? = null,
    ): Flow<Message> =
        transport.messageFlow(
            { cursor, limit -> transport.listPage(conversationId, externalUserID, limit, cursor) },
            "/v1/conversations/${segment(conversationId)}/stream",
            mapOf("externalUserID" to externalUserID),
            0,
            after,
        )

    /**
     * Adds a webhook endpoint (the hosted API's `createWebhook`). The answer's [CreatedWebhookEndpoint.signingSecret]
     * is shown only here: keep it for [verifyWebhook]. [events] are event types, or `*` for all.
     */
    public suspend fun createWebhook(
        url: String,
        events: List<String>,
        description: String? = null,
        idempotencyKey: String = UUID.randomUUID().toString(),
    ): CreatedWebhookEndpoint =
        transport.call(
            CreatedWebhookEndpoint.serializer(),
            "POST",
            "/v1/webhooks",
            body =
                JsonObject(
                    buildMap {
                        put("url", JsonPrimitive(url))
                        put("events", JsonArray(events.map(::JsonPrimitive)))
                        if (description != null) put("description", JsonPrimitive(description))
                    },
                ),
            idempotencyKey = idempotencyKey,
        )

    /** Every endpoint of the org, disabled ones included (the hosted API's `listWebhooks`). */
    public suspend fun listWebhooks(): List<WebhookEndpoint> =
        transport.call(field("data", ListSerializer(WebhookEndpoint.serializer())), "GET", "/v1/webhooks")

    public suspend fun getWebhook(webhookId: String): WebhookEndpoint =
        transport.call(WebhookEndpoint.serializer(), "GET", "/v1/webhooks/${segment(webhookId)}")

    /** Disables the endpoint (soft: it stays listed with `disabledAt`; the hosted API's `deleteWebhook`). */
    public suspend fun deleteWebhook(webhookId: String): Boolean =
        transport.call(field("ok", Boolean.serializer()), "DELETE", "/v1/webhooks/${segment(webhookId)}")

    /** Changes what is given: the URL, the events, the description; [enabled] `false` disables, `true` enables. */
    public suspend fun updateWebhook(
        webhookId: String,
        url: String? = null,
        events: List<String>? = null,
        description: String? = null,
        enabled: Boolean? = null,
    ): WebhookEndpoint =
        transport.call(
            WebhookEndpoint.serializer(),
            "PATCH",
            "/v1/webhooks/${segment(webhookId)}",
            body =
                JsonObject(
                    buildMap {
                        if (url != null) put("url", JsonPrimitive(url))
                        if (events != null) put("events", JsonArray(events.map(::JsonPrimitive)))
                        if (description != null) put("description", JsonPrimitive(description))
                        if (enabled != null) put("enabled", JsonPrimitive(enabled))
                    },
                ),
        )

    /**
     * A new signing secret (`whsec_…`, shown only here); the old one keeps signing beside it for 24 hours, so the
     * receiver can switch to the new one at any time within them.
     */
    public suspend fun rotateWebhookSecret(webhookId: String): String =
        transport.call(
            field("signingSecret", String.serializer()),
            "POST",
            "/v1/webhooks/${segment(webhookId)}/rotate-secret",
        )

    /** One page of the endpoint's deliveries, newest first. */
    public suspend fun listWebhookDeliveries(
        webhookId: String,
        limit: Int? = null,
        cursor: String? = null,
    ): WebhookDeliveryPage =
        transport.call(
            WebhookDeliveryPage.serializer(),
            "GET",
            "/v1/webhooks/${segment(webhookId)}/deliveries",
            mapOf("limit" to limit, "cursor" to cursor),
        )

    /** Every delivery of the endpoint, newest first, walking the cursor to the end. */
    public fun webhookDeliveries(
        webhookId: String,
        pageSize: Int? = null,
    ): Flow<WebhookDelivery> =
        flow {
            var cursor: String? = null
            do {
                val page = listWebhookDeliveries(webhookId, pageSize, cursor)
                for (d in page.deliveries) emit(d)
                cursor = page.nextCursor
            } while (cursor != null)
        }

    /** Attempts a delivery again now, with the same `webhook-id`. */
    public suspend fun retryWebhookDelivery(
        webhookId: String,
        deliveryId: String,
    ): WebhookDelivery =
        transport.call(
            WebhookDelivery.serializer(),
            "POST",
            "/v1/webhooks/${segment(webhookId)}/deliveries/${segment(deliveryId)}/retry",
        )

    /** Sends again every delivery of the endpoint created since [since] (ISO-8601); answers how many. */
    public suspend fun replayWebhook(
        webhookId: String,
        since: String,
    ): Int =
        transport.call(
            field("count", Int.serializer()),
            "POST",
            "/v1/webhooks/${segment(webhookId)}/replay",
            body = body("since" to since),
        )

    /** Sends a `webhook.test` event to the endpoint; the answer is its delivery, queued. */
    public suspend fun testWebhook(webhookId: String): WebhookDelivery =
        transport.call(WebhookDelivery.serializer(), "POST", "/v1/webhooks/${segment(webhookId)}/test")

    /** The whole org's events on one connection (or, with [externalUserID], one member's). */
    public fun events(
        externalUserID: String? = null,
        after: String? = null,
    ): Flow<Event> = transport.eventFlow("/v1/stream", mapOf("externalUserID" to externalUserID), after)
}
