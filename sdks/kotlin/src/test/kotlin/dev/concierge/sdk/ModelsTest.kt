package dev.concierge.sdk

import kotlinx.coroutines.runBlocking
import mockwebserver3.MockResponse
import mockwebserver3.MockWebServer
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import java.io.File
import java.lang.reflect.Modifier

/**
 * The generated models (dev.concierge.sdk.model) read what a newer or older server sends: keys they do not know,
 * values of enum-like fields they do not know, a page without `latestCursor`. Served by MockWebServer, as the real
 * server sends none of these on demand.
 */
class ModelsTest {
    private lateinit var server: MockWebServer

    @BeforeEach
    fun start() {
        server = MockWebServer()
        server.start()
    }

    @AfterEach
    fun stop() = server.close()

    private fun answer(body: String) =
        server.enqueue(
            MockResponse
                .Builder()
                .code(200)
                .body(body)
                .addHeader("content-type", "application/json")
                .build(),
        )

    @Test
    fun `a message of a type this SDK does not know, with keys it does not know, decodes`() =
        runBlocking {
            answer(
                """{"messages":[{"id":"msg_1","type":"bot","authorID":"helper","body":"hi",""" +
                    """"createdAt":"2026-01-01T00:00:00.000Z","reactions":[{"emoji":"+1"}]}],"nextCursor":null}""",
            )
            val client = ConciergeClient(ConciergeConfig(server.url("/").toString(), "member-token"))
            val page = client.listMessages("conv_1")
            assertEquals(listOf("bot"), page.messages.map { it.type })
            assertEquals("helper", page.messages.single().authorId)
            // A server that predates `latestCursor`: the page has it empty, and streams find their start by walking.
            assertEquals("", page.latestCursor)
        }

    @Test
    fun `webhook endpoints and deliveries with values from the future decode as their strings`() =
        runBlocking {
            answer(
                """{"id":"whe_1","url":"https://x.example","events":["*"],"environment":"STAGING",""" +
                    """"createdAt":"t","disabledAt":null,"description":null,"disabledReason":"paused",""" +
                    """"failingSince":null,"rateLimit":10}""",
            )
            answer(
                """{"data":[{"id":"msg_9","endpointID":"whe_1","eventType":"conversation.archived",""" +
                    """"status":"throttled","attempts":1,"createdAt":"t","nextAttemptAt":null,""" +
                    """"lastAttemptAt":null,"lastStatusCode":null,"lastLatencyMs":null,"lastError":null,""" +
                    """"lastResponseBody":null,"region":"eu"}],"nextCursor":null}""",
            )
            val client = ConciergeServerClient(server.url("/").toString(), "ck_live_secret")
            val endpoint = client.getWebhook("whe_1")
            assertEquals("STAGING", endpoint.environment)
            assertEquals("paused", endpoint.disabledReason)
            val delivery = client.listWebhookDeliveries("whe_1").deliveries.single()
            assertEquals("throttled", delivery.status)
            assertEquals("whe_1", delivery.endpointId)
        }

    @Test
    fun `generated properties say Id where the wire says ID, but externalUserID`() {
        val classes = File(System.getProperty("concierge.classesDir") ?: "target/classes")
        val models =
            File(classes, "dev/concierge/sdk/model")
                .listFiles { f -> f.name.endsWith(".class") && '$' !in f.name }
                .orEmpty()
                .map { Class.forName("dev.concierge.sdk.model.${it.name.removeSuffix(".class")}") }
        assertTrue(models.size >= 5, "no generated models under $classes")
        val wireSpelled =
            models.flatMap { model ->
                model.declaredFields
                    .filter { !Modifier.isStatic(it.modifiers) && it.name.endsWith("ID") }
                    .filter { it.name != "externalUserID" }
                    .map { "${model.simpleName}.${it.name}" }
            }
        // Each needs a line in pom.xml's <nameMappings>.
        assertEquals(emptyList<String>(), wireSpelled)
    }
}
