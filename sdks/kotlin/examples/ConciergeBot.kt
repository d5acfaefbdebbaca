package dev.concierge.examples

import dev.concierge.sdk.ConciergeServerClient
import dev.concierge.sdk.Event
import kotlinx.coroutines.flow.filter
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.runBlocking

/**
 * A concierge bot on the org's JVM backend: it follows every event of the org on one connection and answers each
 * member message as `bot`. The stream resumes by itself after drops, so no message is answered twice or missed.
 *
 * Run: CONCIERGE_URL=http://localhost:8080 CONCIERGE_API_KEY=ck_live_… java … dev.concierge.examples.ConciergeBotKt
 */
fun main(): Unit =
    runBlocking {
        val server =
            ConciergeServerClient(
                System.getenv("CONCIERGE_URL") ?: "http://localhost:8080",
                System.getenv("CONCIERGE_API_KEY") ?: error("set CONCIERGE_API_KEY"),
            )
        answerMembers(server, Int.MAX_VALUE)
    }

/** Answers the next [count] member messages, then returns. */
suspend fun answerMembers(
    server: ConciergeServerClient,
    count: Int,
) {
    server
        .events()
        .filterIsInstance<Event.MessageCreated>()
        .filter { it.message.type == "member" }
        .take(count)
        .collect { event ->
            server.typing(event.conversationId)
            server.sendMessage(event.conversationId, "Thank you, we are on it.", authorId = "bot")
        }
}
