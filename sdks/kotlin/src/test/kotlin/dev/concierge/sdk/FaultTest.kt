package dev.concierge.sdk

import dev.concierge.sdk.harness.FaultProxy.Fault
import dev.concierge.sdk.harness.Fixture
import dev.concierge.sdk.harness.Store
import dev.concierge.sdk.harness.openStreams
import dev.concierge.sdk.harness.unique
import dev.concierge.sdk.harness.until
import dev.concierge.sdk.harness.within
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.MethodSource
import java.util.Collections
import kotlin.random.Random

/** The SDK's guarantees through a fault-injecting proxy in front of the real server, on every store. */
class FaultTest {
    companion object {
        @JvmStatic
        fun stores() = Store.selected()

        /** Heartbeats every 200 ms, so a silent link is noticed in 600 ms rather than 45 s. */
        val FAST_HEARTBEAT = arrayOf("--heartbeat", "0.2")
    }

    @ParameterizedTest
    @MethodSource("stores")
    fun `a stream cut 50 times while 500 messages flow yields each exactly once, in order`(store: Store) =
        runBlocking(Dispatchers.Default) {
            Fixture(store, *FAST_HEARTBEAT).use { f ->
                val client = f.member(unique("cuts")) { it.copy(heartbeatMs = 200) }
                val conversation = client.openConversation()
                val route = "/v1/conversations/${conversation.id}/stream"
                val received = Collections.synchronizedList(ArrayList<String>())
                val consumer = launch { client.streamMessages(conversation.id).collect { received.add(it.body!!) } }
                until("the stream to connect") { f.proxy.open(route) == 1 }
                var sent = 0
                var cutting = true
                val producer =
                    launch {
                        while (cutting || sent < 500) f.direct.sendMessage(conversation.id, "m${sent++}")
                    }
                var cuts = 0
                while (cuts < 50) {
                    // Cut a connection that is up and has delivered a message itself: messages are flowing through it.
                    until("the stream to deliver again (cut $cuts)") { f.proxy.delivering(route) == 1 }
                    delay(Random.nextLong(10))
                    cuts += f.proxy.cut(route)
                }
                cutting = false
                producer.join()
                // And a few after the last cut: the stream must have come back to deliver them.
                repeat(3) { f.direct.sendMessage(conversation.id, "m${sent++}") }
                until("every message (${received.size} of $sent)", 60_000) { received.size >= sent }
                consumer.cancelAndJoin()
                assertEquals(50, cuts)
                assertTrue(f.proxy.seen("GET", route).size >= 51)
                assertTrue(sent >= 503)
                assertEquals((0 until sent).map { "m$it" }, received.toList())
            }
        }

    @ParameterizedTest
    @MethodSource("stores")
    fun `a send retried through a reset, a lost answer and a 503 posts exactly once`(store: Store) =
        runBlocking {
            Fixture(store).use { f ->
                val member = unique("retry")
                val client = f.member(member) { it.copy(maxRetries = 3) }
                val conversation = client.openConversation()
                val route = "/v1/conversations/${conversation.id}/messages"
                f.proxy.inject("POST", route, Fault.Reset)
                f.proxy.inject("POST", route, Fault.Drop)
                f.proxy.inject("POST", route, Fault.Respond(503, mapOf("retry-after" to "0.05"), "{}"))
                val result = client.sendMessage(conversation.id, "exactly once")
                val attempts = f.proxy.seen("POST", route)
                assertEquals(listOf("reset", "drop", "respond", "pass"), attempts.map { it.fault })
                assertEquals(
                    1,
                    attempts.map { it.headers["idempotency-key"] }.toSet().size,
                    "one key for every attempt",
                )
                // The dropped attempt posted; the last one is its replay.
                assertTrue(result.replayed)
                val stored = f.direct.listMessages(conversation.id, member)
                assertEquals(listOf("exactly once"), stored.messages.map { it.body })
            }
        }

    @ParameterizedTest
    @MethodSource("stores")
    fun `a silent stream is taken as dropped after three heartbeats and resumed`(store: Store) =
        runBlocking {
            Fixture(store, *FAST_HEARTBEAT).use { f ->
                val client = f.member(unique("idle")) { it.copy(heartbeatMs = 200) }
                val conversation = client.openConversation()
                val route = "/v1/conversations/${conversation.id}/stream"
                val got = async { client.streamMessages(conversation.id).take(2).toList() }
                until("the stream to connect") { f.proxy.open(route) == 1 }
                // The link goes silent: heartbeats and messages no longer pass, the connection stays open.
                assertEquals(1, f.proxy.silence(route))
                f.direct.sendMessage(conversation.id, "while silent")
                until("a reconnect after the idle period") { f.proxy.seen("GET", route).size == 2 }
                f.direct.sendMessage(conversation.id, "after")
                assertEquals(
                    listOf("while silent", "after"),
                    within(20_000, "both messages") { got.await() }.map { it.body },
                )
            }
        }

    @ParameterizedTest
    @MethodSource("stores")
    fun `cancelling the collector closes the connection on the server`(store: Store) =
        runBlocking(Dispatchers.Default) {
            Fixture(store).use { f ->
                val member = unique("cancel")
                val token = f.token(member)
                // Straight to the server: its own gauge says whether the socket is gone.
                val client = ConciergeClient(ConciergeConfig(f.server.url, token.accessToken, token.expiresAt))
                val conversation = client.openConversation()
                until("no stream of earlier tests open") { openStreams(f.server) == 0 }
                val collector = launch { client.streamMessages(conversation.id).collect {} }
                until("the server to hold the stream") { openStreams(f.server) == 1 }
                val started = System.nanoTime()
                collector.cancelAndJoin()
                val cancelMs = (System.nanoTime() - started) / 1_000_000
                // awaitClose cancels the OkHttp call before the collector completes: the socket is closed by now.
                assertTrue(cancelMs < 100, "cancellation took $cancelMs ms")
                until("the server to see the stream closed", 5_000) { openStreams(f.server) == 0 }
            }
        }
}
