package dev.concierge.sdk

import dev.concierge.sdk.internal.json
import dev.concierge.sdk.model.ConversationMessageCreatedWebhook
import dev.concierge.sdk.model.WebhookTestWebhook
import dev.concierge.sdk.internal.string
import kotlinx.serialization.json.JsonObject
import okio.ByteString.Companion.decodeBase64
import java.nio.ByteBuffer
import java.nio.charset.CharacterCodingException
import java.nio.charset.CodingErrorAction
import java.security.MessageDigest
import javax.crypto.Mac
import javax.crypto.spec.SecretKeySpec

/*
 * verifyWebhook: the Kotlin twin of `@concierge/sdk/server`'s `core/webhook-verification.ts`, Standard Webhooks 1.0.
 * `javax.crypto` and okio's base64 only, both on Android and every JVM.
 */

private const val SECRET_PREFIX = "whsec_"

/**
 * Checks one webhook delivery and returns its event; throws [WebhookVerificationException] if it does not check
 * out. Give it the body exactly as it arrived: a body parsed and serialised again has other bytes and never
 * verifies.
 *
 * - HMAC-SHA256 of `${webhook-id}.${webhook-timestamp}.${body}` with the secret (`whsec_` + base64; the prefix is
 *   optional) must equal one of the `v1,<base64>` entries of `webhook-signature` (two while the secret rotates);
 *   entries of other versions are skipped. Each is compared in constant time ([MessageDigest.isEqual]).
 * - `webhook-timestamp` must be within [toleranceSeconds] (5 minutes) of [nowSeconds], either way.
 *
 * [header] looks a header up by its lower-case name (any framework's headers fit: `{ call.request.header(it) }`,
 * `{ request.getHeader(it) }`); a repeated `webhook-signature` may be joined with spaces or `, `. A secret that is
 * not base64 is the receiver's mistake: [IllegalArgumentException].
 */
public fun verifyWebhook(
    rawBody: ByteArray,
    secret: String,
    toleranceSeconds: Long = 300,
    nowSeconds: Long = System.currentTimeMillis() / 1000,
    header: (String) -> String?,
): WebhookEvent {
    val key = (if (secret.startsWith(SECRET_PREFIX)) secret.substring(SECRET_PREFIX.length) else secret).decodeBase64()
    require(key != null && key.size > 0) {
        "The webhook secret must be `whsec_` followed by base64, as the server showed it."
    }
    val id = required(header, "webhook-id")
    val timestamp = required(header, "webhook-timestamp")
    val signatures = required(header, "webhook-signature")

    if (!TIMESTAMP.matches(timestamp)) fail("invalid_timestamp", "`webhook-timestamp` is not a number of seconds.")
    val age = nowSeconds - timestamp.toLong()
    if (age > toleranceSeconds) fail("timestamp_too_old", "The delivery is $age s old (at most $toleranceSeconds s).")
    if (-age > toleranceSeconds) fail("timestamp_too_new", "The delivery is ${-age} s in the future.")

    val mac = Mac.getInstance("HmacSHA256")
    mac.init(SecretKeySpec(key.toByteArray(), "HmacSHA256"))
    mac.update("$id.$timestamp.".toByteArray(Charsets.UTF_8))
    val expected = mac.doFinal(rawBody)
    var matched = false
    // Space-separated; a repeated header joined with ", " leaves a trailing comma on all but the last entry.
    for (item in signatures.split(' ')) {
        val entry = item.removeSuffix(",")
        if (!entry.startsWith("v1,")) continue
        val candidate = entry.substring(3).takeIf { BASE64.matches(it) }?.decodeBase64() ?: continue
        // No early exit: every candidate costs the same whichever one matches.
        if (MessageDigest.isEqual(candidate.toByteArray(), expected)) matched = true
    }
    if (!matched) fail("no_matching_signature", "No `v1` signature matches this body and secret.")
    return parseEvent(id, rawBody)
}

/** [verifyWebhook] with the headers as a map, names in any case (a servlet's or Spring's, flattened). */
public fun verifyWebhook(
    rawBody: ByteArray,
    headers: Map<String, String>,
    secret: String,
    toleranceSeconds: Long = 300,
    nowSeconds: Long = System.currentTimeMillis() / 1000,
): WebhookEvent {
    val lower = headers.mapKeys { it.key.lowercase() }
    return verifyWebhook(rawBody, secret, toleranceSeconds, nowSeconds) { lower[it] }
}

private val TIMESTAMP = Regex("[0-9]{1,15}")

/** Standard base64 (okio also takes base64url and whitespace, which Standard Webhooks signatures never hold). */
private val BASE64 = Regex("[A-Za-z0-9+/]*={0,2}")

private fun required(
    header: (String) -> String?,
    name: String,
): String = header(name)?.takeIf { it.isNotEmpty() } ?: fail("missing_header", "The `$name` header is missing.")

private fun fail(
    reason: String,
    message: String,
): Nothing = throw WebhookVerificationException(reason, message)

private fun parseEvent(
    webhookId: String,
    body: ByteArray,
): WebhookEvent {
    val o =
        try {
            val text =
                Charsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(body))
                    .toString()
            json.parseToJsonElement(text) as? JsonObject
        } catch (_: CharacterCodingException) {
            null
        } catch (_: IllegalArgumentException) {
            null
        }
    val type = o?.string("type")
    val data = o?.get("data") as? JsonObject
    if (o == null || type == null || data == null) fail("invalid_payload", "The signed body is not a webhook event.")
    val timestamp = o.string("timestamp") ?: ""
    // The typed events decode with the payload classes generated from the contract's webhooks section.
    return try {
        when (type) {
            "conversation.message_created" -> {
                val e = json.decodeFromJsonElement(ConversationMessageCreatedWebhook.serializer(), o)
                WebhookEvent.MessageCreated(webhookId, e.timestamp, e.data.conversationId, e.data.message)
            }
            "webhook.test" -> {
                val e = json.decodeFromJsonElement(WebhookTestWebhook.serializer(), o)
                WebhookEvent.Test(webhookId, e.timestamp, e.data.endpointId)
            }
            else -> WebhookEvent.Other(webhookId, type, timestamp, data)
        }
    } catch (_: RuntimeException) {
        // A known type whose data lacks what it always carries: a newer shape; hand it over untyped.
        WebhookEvent.Other(webhookId, type, timestamp, data)
    }
}
