package dev.concierge.sdk

import kotlinx.serialization.SerialName
import kotlinx.serialization.Serializable
import kotlinx.serialization.json.JsonObject

/*
 * Webhooks (docs/webhooks.md): the endpoint and delivery shapes of `/v1/webhooks` (generated, as every wire shape:
 * Models.kt), the page of deliveries the SDK unwraps, and the events a receiver gets.
 */

/**
 * A webhook endpoint. [WebhookEndpoint.environment] is `LIVE` or `SANDBOX`, as the hosted API has it;
 * [WebhookEndpoint.disabledAt] is set once deleted or disabled (DELETE is a soft disable).
 */
public typealias WebhookEndpoint = dev.concierge.sdk.model.WebhookEndpoint

/**
 * What [ConciergeServerClient.createWebhook] answers: the endpoint with its [CreatedWebhookEndpoint.signingSecret]
 * (`whsec_…`), shown only then. Keep it for [verifyWebhook].
 */
public typealias CreatedWebhookEndpoint = dev.concierge.sdk.model.CreatedWebhookEndpoint

/**
 * One delivery of one event to one endpoint, with its attempts so far. Its [WebhookDelivery.id] is the `webhook-id`
 * header: the same on every attempt, so receivers dedupe on it. [WebhookDelivery.status] is `pending`, `delivered`
 * or `failed`.
 */
public typealias WebhookDelivery = dev.concierge.sdk.model.WebhookDelivery

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
