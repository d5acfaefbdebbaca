package dev.concierge.sdk

import kotlinx.serialization.SerialName
import kotlinx.serialization.Serializable
import kotlinx.serialization.json.JsonObject

/*
 * Webhooks (docs/webhooks.md): the endpoint and delivery shapes of `/v1/webhooks`, and the events a receiver gets.
 * Mirrors `@concierge/protocol`'s `webhooks.ts`.
 */

/** A webhook endpoint. [environment] is `LIVE` or `SANDBOX`, as the hosted API has it. */
@Serializable
public data class WebhookEndpoint(
    val id: String,
    val url: String,
    /** Event types it receives; `*` means all. */
    val events: List<String>,
    val environment: String,
    val createdAt: String,
    /** Set once deleted or disabled (DELETE is a soft disable); null while it receives deliveries. */
    val disabledAt: String? = null,
    val description: String? = null,
    /** `deleted`, `disabled`, `gone` (a 410) or `failing` (5 days of failures). */
    val disabledReason: String? = null,
    /** When its current run of failed attempts began; null while deliveries succeed. */
    val failingSince: String? = null,
    /** `whsec_…`: only in [ConciergeServerClient.createWebhook]'s answer, never again. Keep it for [verifyWebhook]. */
    val signingSecret: String? = null,
)

/** One delivery of one event to one endpoint, with its attempts so far. */
@Serializable
public data class WebhookDelivery(
    /** The `webhook-id` header: the same on every attempt, so receivers dedupe on it. */
    val id: String,
    @SerialName("endpointID") val endpointId: String,
    val eventType: String,
    /** `pending`, `delivered` or `failed`. */
    val status: String,
    val attempts: Int,
    val createdAt: String,
    val nextAttemptAt: String? = null,
    val lastAttemptAt: String? = null,
    val lastStatusCode: Int? = null,
    val lastLatencyMs: Long? = null,
    val lastError: String? = null,
    /** At most 64 KiB of the last answer's body. */
    val lastResponseBody: String? = null,
)

/** One page of an endpoint's deliveries, newest first. */
@Serializable
public data class WebhookDeliveryPage(
    @SerialName("data") val deliveries: List<WebhookDelivery>,
    /** Pass back as `cursor` for the next (older) page; null on the last. */
    val nextCursor: String? = null,
)

/**
 * One verified delivery ([verifyWebhook]). [webhookId] is the `webhook-id` header, the same on every attempt of a
 * delivery: dedupe on it. Only the types most receivers act on are typed (the jar ships in Android apps); the
 * others arrive as [Other] with their data as JSON.
 */
public sealed class WebhookEvent {
    public abstract val webhookId: String
    public abstract val type: String

    /** When the event happened (ISO-8601). */
    public abstract val timestamp: String

    /** `conversation.message_created`: the hosted API's event for a new message. */
    public data class MessageCreated(
        override val webhookId: String,
        override val timestamp: String,
        val conversationId: String,
        val message: Message,
    ) : WebhookEvent() {
        override val type: String get() = "conversation.message_created"
    }

    /** `webhook.test`, sent by [ConciergeServerClient.testWebhook]. */
    public data class Test(
        override val webhookId: String,
        override val timestamp: String,
        val endpointId: String,
    ) : WebhookEvent() {
        override val type: String get() = "webhook.test"
    }

    /**
     * Any other type (`conversation.created`, `conversation.read`, `member.deleted`, or one a newer server sends),
     * with its `data` as sent (docs/webhooks.md lists each type's data).
     */
    public data class Other(
        override val webhookId: String,
        override val type: String,
        override val timestamp: String,
        val data: JsonObject,
    ) : WebhookEvent()
}
