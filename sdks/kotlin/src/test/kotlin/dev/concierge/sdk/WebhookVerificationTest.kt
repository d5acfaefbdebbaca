package dev.concierge.sdk

import com.standardwebhooks.Webhook
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.util.Base64
import kotlin.random.Random

/**
 * [verifyWebhook] against the reference implementation of Standard Webhooks (`com.standardwebhooks`): what it
 * signs verifies; what anyone changed after it signed does not. No server here (WebhooksContractTest has that).
 */
class WebhookVerificationTest {
    private val now = System.currentTimeMillis() / 1000
    private val random = Random(20261129)

    private fun secretBytes(): ByteArray = random.nextBytes(24 + random.nextInt(41))

    private fun whsec(bytes: ByteArray) = "whsec_" + Base64.getEncoder().encodeToString(bytes)

    private fun signed(
        secret: ByteArray,
        id: String,
        seconds: Long,
        body: String,
    ) = mapOf(
        "webhook-id" to id,
        "webhook-timestamp" to seconds.toString(),
        "webhook-signature" to Webhook(whsec(secret)).sign(id, seconds, body),
    )

    private fun refused(block: () -> Unit): WebhookVerificationException =
        assertThrows<WebhookVerificationException> {
            block()
        }

    private val message =
        """{"type":"conversation.message_created","timestamp":"2026-11-29T12:00:00.000Z",""" +
            """"data":{"conversationID":"conv_1","message":{"id":"msg_1","type":"member","authorID":"ada",""" +
            """"body":"Olá 😀","createdAt":"2026-11-29T12:00:00.000Z"}}}"""

    @Test
    fun `accepts what the reference signs, typed by its type`() {
        repeat(200) { i ->
            val secret = secretBytes()
            val skew = random.nextLong(-240, 241)
            val body =
                if (i % 2 ==
                    0
                ) {
                    message
                } else {
                    """{"type":"webhook.test","timestamp":"x","data":{"endpointID":"whe_$i"}}"""
                }
            val headers = signed(secret, "msg_$i", now + skew, body)
            val event = verifyWebhook(body.toByteArray(), headers, whsec(secret), nowSeconds = now)
            assertEquals("msg_$i", event.webhookId)
            if (i % 2 == 0) {
                event as WebhookEvent.MessageCreated
                assertEquals("conv_1", event.conversationId)
                assertEquals("Olá 😀", event.message.body)
            } else {
                assertEquals(WebhookEvent.Test("msg_$i", "x", "whe_$i"), event)
            }
            // The secret without its prefix, and the reference agreeing on the same delivery.
            verifyWebhook(body.toByteArray(), headers, whsec(secret).removePrefix("whsec_"), nowSeconds = now)
            Webhook(whsec(secret)).verify(body, headers.mapValues { listOf(it.value) })
        }
    }

    @Test
    fun `any tampering fails - body, id, timestamp, signature or secret changed after signing`() {
        repeat(300) { i ->
            val secret = secretBytes()
            val seconds = now + random.nextLong(-240, 241)
            val headers = signed(secret, "msg_$i", seconds, message).toMutableMap()
            var body = message.toByteArray()
            var key = whsec(secret)
            val bit = 1 shl random.nextInt(8)
            when (i % 5) {
                0 ->
                    body =
                        body.copyOf().also {
                            val at = random.nextInt(it.size)
                            it[at] = (it[at].toInt() xor bit).toByte()
                        }
                1 -> headers["webhook-id"] = "msg_${i}x"
                2 -> headers["webhook-timestamp"] = (seconds + if (random.nextBoolean()) 1 else -1).toString()
                3 -> {
                    val raw = Base64.getDecoder().decode(headers["webhook-signature"]!!.removePrefix("v1,"))
                    val at = random.nextInt(raw.size)
                    raw[at] = (raw[at].toInt() xor bit).toByte()
                    headers["webhook-signature"] = "v1," + Base64.getEncoder().encodeToString(raw)
                }
                else ->
                    key =
                        whsec(
                            secret.copyOf().also {
                                val at = random.nextInt(it.size)
                                it[at] =
                                    (it[at].toInt() xor bit).toByte()
                            },
                        )
            }
            assertEquals(
                "no_matching_signature",
                refused { verifyWebhook(body, headers, key, nowSeconds = now) }.reason,
            )
        }
    }

    @Test
    fun `several signatures - any v1 that matches is enough, other versions are skipped`() {
        val secret = secretBytes()
        val headers = signed(secret, "msg_s", now, message)
        val good = headers.getValue("webhook-signature")
        val stale = Webhook(whsec(secretBytes())).sign("msg_s", now, message)
        for (list in listOf("$stale $good", "$good $stale", "v1a,${good.substring(3)} $good", "$stale, $good")) {
            verifyWebhook(
                message.toByteArray(),
                headers + ("webhook-signature" to list),
                whsec(secret),
                nowSeconds = now,
            )
        }
        for (list in listOf(stale, "$stale $stale", "v1a,${good.substring(3)}", "v1,", "v1,not base64!", "v2,abc")) {
            val error =
                refused {
                    verifyWebhook(
                        message.toByteArray(),
                        headers + ("webhook-signature" to list),
                        whsec(secret),
                        nowSeconds = now,
                    )
                }
            assertEquals("no_matching_signature", error.reason, list)
        }
    }

    @Test
    fun `the timestamp must be within 5 minutes, either way`() {
        val secret = secretBytes()
        for ((skew, reason) in listOf(
            -300L to null,
            300L to null,
            -301L to "timestamp_too_old",
            301L to "timestamp_too_new",
        )) {
            val headers = signed(secret, "msg_t", now + skew, message)
            if (reason == null) {
                verifyWebhook(message.toByteArray(), headers, whsec(secret), nowSeconds = now)
            } else {
                assertEquals(
                    reason,
                    refused { verifyWebhook(message.toByteArray(), headers, whsec(secret), nowSeconds = now) }.reason,
                )
            }
        }
        val headers = signed(secret, "msg_t", now, message)
        for (bad in listOf("12.5", "-1", "abc", " 1")) {
            val error =
                refused {
                    verifyWebhook(
                        message.toByteArray(),
                        headers + ("webhook-timestamp" to bad),
                        whsec(secret),
                        nowSeconds = now,
                    )
                }
            assertEquals("invalid_timestamp", error.reason, bad)
        }
    }

    @Test
    fun `headers in any case, a missing one named, a bad secret or body said so`() {
        val secret = secretBytes()
        val headers = signed(secret, "msg_h", now, message)
        verifyWebhook(message.toByteArray(), headers.mapKeys { it.key.uppercase() }, whsec(secret), nowSeconds = now)
        verifyWebhook(message.toByteArray(), whsec(secret), nowSeconds = now) { headers[it] }
        for (name in headers.keys) {
            val error =
                refused { verifyWebhook(message.toByteArray(), headers - name, whsec(secret), nowSeconds = now) }
            assertEquals("missing_header", error.reason)
            assertEquals("MISSING_HEADER", error.code)
            assertTrue(error.message!!.contains(name))
        }
        for (bad in listOf("whsec_", "whsec_!!!", "")) {
            assertThrows<IllegalArgumentException> {
                verifyWebhook(
                    message.toByteArray(),
                    headers,
                    bad,
                    nowSeconds = now,
                )
            }
        }
        for (body in listOf("not json", "[]", """{"type":1,"data":{}}""")) {
            val h = signed(secret, "msg_j", now, body)
            assertEquals(
                "invalid_payload",
                refused {
                    verifyWebhook(body.toByteArray(), h, whsec(secret), nowSeconds = now)
                }.reason,
            )
        }
        val unknown = """{"type":"conversation.archived","timestamp":"t","data":{"x":1}}"""
        val event =
            verifyWebhook(unknown.toByteArray(), signed(secret, "msg_u", now, unknown), whsec(secret), nowSeconds = now)
        assertEquals("conversation.archived", (event as WebhookEvent.Other).type)
    }
}
