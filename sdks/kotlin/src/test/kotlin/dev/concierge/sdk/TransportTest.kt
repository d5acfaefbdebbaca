package dev.concierge.sdk

import dev.concierge.sdk.internal.parseRetryAfter
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.test.runTest
import mockwebserver3.MockResponse
import mockwebserver3.MockWebServer
import mockwebserver3.SocketEffect
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.util.concurrent.TimeUnit

/**
 * The retry policy and the error mapping against answers the real server never gives on demand (a 503, a 429 with
 * a fractional Retry-After, a reset, a code from the future), served by OkHttp's MockWebServer.
 */
@OptIn(kotlinx.coroutines.ExperimentalCoroutinesApi::class)
class TransportTest {
    private lateinit var server: MockWebServer

    @BeforeEach
    fun start() {
        server = MockWebServer()
        server.start()
    }

    @AfterEach
    fun stop() = server.close()

    private fun client(maxRetries: Int = 2) =
        ConciergeClient(ConciergeConfig(server.url("/").toString(), "member-token", maxRetries = maxRetries))

    private fun json(
        status: Int,
        body: String,
        vararg headers: Pair<String, String>,
    ) = MockResponse
        .Builder()
        .code(status)
        .body(body)
        .apply { headers.forEach { addHeader(it.first, it.second) } }
        .addHeader("content-type", "application/json")
        .build()

    private val message =
        """{"id":"msg_1","type":"member","authorID":"m","body":"hi","createdAt":"2026-01-01T00:00:00.000Z"}"""
    private val sent = """{"ok":true,"message":$message}"""

    @Test
    fun `a send through a reset, a 503 and an IDEMPOTENCY_KEY_IN_USE is retried with one key`() =
        runTest {
            server.enqueue(MockResponse.Builder().onRequestStart(SocketEffect.CloseSocket()).build())
            server.enqueue(json(503, """{"error":{"code":"UNAVAILABLE","message":"down"}}""", "retry-after" to "0.2"))
            server.enqueue(
                json(409, """{"error":{"code":"IDEMPOTENCY_KEY_IN_USE","message":"busy","retryable":true}}"""),
            )
            server.enqueue(json(201, sent, "idempotent-replayed" to "true"))
            val result = client(maxRetries = 3).sendMessage("conv_1", "hi")
            assertTrue(result.replayed)
            assertEquals("hi", result.message.body)
            // The reset request never got past its head: it has no headers recorded.
            val keys = (1..server.requestCount).mapNotNull { server.takeRequest().headers["idempotency-key"] }
            assertEquals(3, keys.size)
            assertEquals(1, keys.toSet().size, "$keys")
            // Virtual time: the SDK waited what the server asked for, not a guess.
            assertTrue(testScheduler.currentTime >= 200, "${testScheduler.currentTime}")
        }

    @Test
    fun `a 2xx that is not JSON is a NetworkException and is retried`() =
        runTest {
            server.enqueue(
                MockResponse
                    .Builder()
                    .code(200)
                    .body("<html>captive portal</html>")
                    .build(),
            )
            server.enqueue(json(200, """{"conversations":[]}"""))
            assertEquals(emptyList<Conversation>(), client().listConversations())
            server.enqueue(
                MockResponse
                    .Builder()
                    .code(200)
                    .body("<html>captive portal</html>")
                    .build(),
            )
            assertThrows<NetworkException> { client(maxRetries = 0).listConversations() }
        }

    @Test
    fun `a config's text leaves the token out`() {
        val text = ConciergeConfig("http://x", "secret-member-token").toString()
        assertTrue("secret-member-token" !in text, text)
    }

    @Test
    fun `retries stop at maxRetries and the last answer is the error`() =
        runTest {
            repeat(
                3,
            ) { server.enqueue(json(503, """{"error":{"code":"UNAVAILABLE","message":"down","requestID":"req_9"}}""")) }
            val error = assertThrows<ServerException> { client(maxRetries = 2).listConversations() }
            assertEquals(503, error.status)
            assertEquals("UNAVAILABLE", error.code)
            assertEquals("req_9", error.requestId)
            assertTrue(error.retryable)
            assertEquals(3, server.requestCount)
        }

    @Test
    fun `x-should-retry false is obeyed and true retries a status that would not be`() =
        runTest {
            server.enqueue(json(500, """{"error":{"code":"INTERNAL","message":"x"}}""", "x-should-retry" to "false"))
            assertThrows<ServerException> { client().listConversations() }
            assertEquals(1, server.requestCount)
            server.enqueue(json(400, """{"error":{"code":"BAD_REQUEST","message":"x"}}""", "x-should-retry" to "true"))
            server.enqueue(json(200, """{"conversations":[]}"""))
            assertEquals(emptyList<Conversation>(), client().listConversations())
            assertEquals(3, server.requestCount)
        }

    @Test
    fun `a 429 waits its Retry-After, clamped, and the error keeps it`() =
        runTest {
            server.enqueue(
                json(
                    429,
                    """{"error":{"code":"RATE_LIMITED","message":"slow down"}}""",
                    "retry-after" to "1.5",
                ),
            )
            server.enqueue(
                json(
                    429,
                    """{"error":{"code":"RATE_LIMITED","message":"slow down"}}""",
                    "retry-after" to "86400",
                ),
            )
            val error = assertThrows<RateLimitException> { client(maxRetries = 1).listConversations() }
            assertEquals(300_000L, error.retryAfterMs)
            assertEquals(1500L, testScheduler.currentTime)
        }

    @Test
    fun `an unknown code keeps its string and lands in its status's class`() =
        runBlocking {
            server.enqueue(
                json(
                    418,
                    """{"error":{"code":"TEAPOT_FROM_THE_FUTURE","message":"short and stout"}}""",
                    "x-request-id" to "req_1",
                ),
            )
            val error = assertThrows<BadRequestException> { client().listConversations() }
            assertEquals(418, error.status)
            assertEquals("TEAPOT_FROM_THE_FUTURE", error.code)
            assertEquals("short and stout", error.message)
            assertEquals("req_1", error.requestId)
            server.enqueue(
                MockResponse
                    .Builder()
                    .code(404)
                    .body("<html>nope</html>")
                    .build(),
            )
            val notFound = assertThrows<NotFoundException> { client().listConversations() }
            assertEquals("NOT_FOUND", notFound.code)
        }

    @Test
    fun `a stream answered 403 ends with ForbiddenException instead of reconnecting`() =
        runBlocking {
            server.enqueue(json(403, """{"error":{"code":"FORBIDDEN","message":"not yours"}}"""))
            assertThrows<ForbiddenException> { client().events().toList() }
            assertEquals(1, server.requestCount)
        }

    @Test
    fun `events skip names they do not know and decode the rest`() =
        runBlocking {
            val body =
                "retry: 2000\n\nid: start\n\n" +
                    "event: reaction\nid: e1\ndata: {\"emoji\":\"x\"}\n\n" +
                    ": heartbeat\n\n" +
                    "event: typing\ndata: {\"conversationID\":\"conv_1\",\"typist\":\"concierge\"," +
                    "\"typistID\":\"ann\",\"at\":\"t\"}\n\n" +
                    "event: message\nid: e2\ndata: {\"conversationID\":\"conv_1\",\"message\":$message,\"extra\":1}\n\n"
            server.enqueue(
                MockResponse
                    .Builder()
                    .addHeader("content-type", "text/event-stream")
                    .body(body)
                    .build(),
            )
            val events = client().events().take(2).toList()
            assertEquals(Event.Typing("conv_1", "concierge", "ann", "t"), events[0])
            val created = events[1] as Event.MessageCreated
            assertEquals("e2", created.id)
            assertEquals("msg_1", created.message.id)
        }

    @Test
    fun `a stream resumes with the id of the server's start frame after a clean end`() =
        runBlocking {
            server.enqueue(
                MockResponse
                    .Builder()
                    .addHeader(
                        "content-type",
                        "text/event-stream",
                    ).body("retry: 10\n\nid: start-1\n\n")
                    .build(),
            )
            server.enqueue(
                MockResponse
                    .Builder()
                    .addHeader("content-type", "text/event-stream")
                    .body("event: message\nid: e1\ndata: {\"conversationID\":\"c\",\"message\":$message}\n\n")
                    .build(),
            )
            client().events().take(1).toList()
            val first = server.takeRequest(5, TimeUnit.SECONDS)!!
            val second = server.takeRequest(5, TimeUnit.SECONDS)!!
            assertNull(first.headers["last-event-id"])
            assertEquals("start-1", second.headers["last-event-id"])
        }

    @Test
    fun `Retry-After is read as seconds, fractions too, or as an HTTP date, clamped to five minutes`() {
        assertEquals(500L, parseRetryAfter("0.5"))
        assertEquals(2000L, parseRetryAfter(" 2 "))
        assertEquals(300_000L, parseRetryAfter("400"))
        assertEquals(0L, parseRetryAfter("-3"))
        assertNull(parseRetryAfter("soon"))
        assertNull(parseRetryAfter(null))
        val now = java.time.ZonedDateTime.parse("2026-01-01T00:00:00Z")
        assertEquals(10_000L, parseRetryAfter("Thu, 01 Jan 2026 00:00:10 GMT", now.toInstant().toEpochMilli()))
    }

    @Test
    fun `the member client refuses an Org-API-Key and the server client refuses Android`() {
        for (key in listOf("ck_live_secret", "expys_live_secret", "acme_sandbox_secret")) {
            assertThrows<IllegalArgumentException> { ConciergeClient(ConciergeConfig("http://x", key)) }
        }
        val vm = System.getProperty("java.vm.name")
        System.setProperty("java.vm.name", "Dalvik")
        try {
            assertThrows<IllegalStateException> { ConciergeServerClient("http://x", "ck_live_secret") }
            ConciergeServerClient("http://x", "ck_live_secret", dangerouslyAllowAndroid = true)
        } finally {
            System.setProperty("java.vm.name", vm)
        }
    }
}
