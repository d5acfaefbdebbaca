package dev.concierge.sdk

import com.standardwebhooks.Webhook
import com.sun.net.httpserver.HttpServer
import dev.concierge.sdk.harness.Servers
import dev.concierge.sdk.harness.Store
import dev.concierge.sdk.harness.repoRoot
import dev.concierge.sdk.harness.unique
import dev.concierge.sdk.harness.until
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.MethodSource
import java.io.File
import java.net.InetSocketAddress
import java.util.concurrent.CopyOnWriteArrayList

/** The server client's webhook calls and [verifyWebhook] against the real server, with a real receiver on loopback. */
class WebhooksContractTest {
    companion object {
        @JvmStatic
        fun stores() = Store.selected()

        /** Whether this build's server has the webhook routes (they come with their flags). */
        private val supported: Boolean by lazy {
            val help =
                ProcessBuilder("node", File(repoRoot, "packages/server/bin/concierge.js").path, "--help")
                    .redirectErrorStream(true)
                    .start()
                    .inputStream
                    .bufferedReader()
                    .readText()
            help.contains("--webhooks-allow-http")
        }
    }

    @BeforeEach
    fun needsWebhooks() = assumeTrue(supported, "this build has no webhook routes yet")

    private class Delivery(
        val path: String,
        val headers: Map<String, String>,
        val body: ByteArray,
    )

    /** Keeps every delivery as it arrived and answers 204. */
    private class Receiver : AutoCloseable {
        val deliveries = CopyOnWriteArrayList<Delivery>()
        private val server =
            HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0).apply {
                createContext("/") { exchange ->
                    val body = exchange.requestBody.readBytes()
                    val headers =
                        exchange.requestHeaders.entries.associate { (k, v) ->
                            k.lowercase() to
                                v.joinToString(" ")
                        }
                    deliveries += Delivery(exchange.requestURI.path, headers, body)
                    exchange.sendResponseHeaders(204, -1)
                    exchange.close()
                }
                start()
            }

        fun url(path: String) = "http://127.0.0.1:${server.address.port}$path"

        fun at(path: String) = deliveries.filter { it.path == path }

        override fun close() = server.stop(0)
    }

    private fun server(store: Store) = Servers.get(store, "--webhooks-allow-http", "--webhooks-allow-private")

    @ParameterizedTest
    @MethodSource("stores")
    fun `a delivery verifies with verifyWebhook and the reference, and carries the message`(store: Store) =
        runBlocking {
            Receiver().use { receiver ->
                val s = server(store)
                val client = ConciergeServerClient(s.url, s.apiKey)
                val path = "/${unique("hook")}"
                val endpoint = client.createWebhook(receiver.url(path), listOf("conversation.message_created"))
                val secret = requireNotNull(endpoint.signingSecret)
                assertEquals(endpoint.id, client.listWebhooks().single { it.id == endpoint.id }.id)
                val member = unique("hooked")
                val conversation = client.openConversation(member)
                val sent = client.sendMessage(conversation.id, "Ping", externalUserID = member)
                until("the delivery") { receiver.at(path).isNotEmpty() }
                val delivery = receiver.at(path).first()
                val event = verifyWebhook(delivery.body, delivery.headers, secret)
                event as WebhookEvent.MessageCreated
                assertEquals(sent.message, event.message)
                assertEquals(delivery.headers["webhook-id"], event.webhookId)
                Webhook(secret).verify(String(delivery.body), delivery.headers.mapValues { listOf(it.value) })

                val rotated = client.rotateWebhookSecret(endpoint.id)
                val test = client.testWebhook(endpoint.id)
                until("the test delivery") { receiver.at(path).any { it.headers["webhook-id"] == test.id } }
                val signedTwice = receiver.at(path).first { it.headers["webhook-id"] == test.id }
                for (key in listOf(secret, rotated)) {
                    assertEquals("webhook.test", verifyWebhook(signedTwice.body, signedTwice.headers, key).type)
                }

                // A delivery is listed once its attempt's outcome is written, which may come after the receiver has it.
                val ids = setOf(test.id, event.webhookId)
                until("both deliveries listed") {
                    client.webhookDeliveries(endpoint.id).toList().map { it.id }.toSet() == ids
                }
                val all = client.webhookDeliveries(endpoint.id, pageSize = 1).toList()
                assertEquals(ids, all.map { it.id }.toSet())
                assertEquals(test.id, all.first().id, "newest first")

                assertEquals(true, client.deleteWebhook(endpoint.id))
                assertNotEquals(null, client.getWebhook(endpoint.id).disabledAt)
            }
        }
}
