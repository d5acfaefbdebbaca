package dev.concierge.sdk

import dev.concierge.examples.answerMembers
import dev.concierge.examples.memberChat
import dev.concierge.sdk.harness.Servers
import dev.concierge.sdk.harness.Store
import dev.concierge.sdk.harness.openStreams
import dev.concierge.sdk.harness.unique
import dev.concierge.sdk.harness.until
import dev.concierge.sdk.harness.within
import kotlinx.coroutines.async
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test

/** The examples in sdks/kotlin/examples run against the real server and do what they say. */
class ExamplesTest {
    private val server = Servers.get(Store.SQLITE)
    private val backend = ConciergeServerClient(server.url, server.apiKey)

    @Test
    fun `the member chat example gets the concierge's reply`() =
        runBlocking {
            assertEquals(
                "Booked: 8 pm, window table.",
                within(30_000, "the reply") {
                    memberChat(server.url, backend, unique("ada"))
                },
            )
        }

    @Test
    fun `the bot example answers a member's message`() =
        runBlocking {
            val member = unique("asker")
            val conversation = backend.openConversation(member)
            val before = openStreams(server)
            val bot = async { answerMembers(backend, 1) }
            // The bot's stream starts live: wait until it is open before the member writes.
            until("the bot's stream") { openStreams(server) > before }
            backend.sendMessage(conversation.id, "Is the spa open?", externalUserID = member)
            within(30_000, "the bot") { bot.await() }
            val answer = backend.listMessages(conversation.id, member).messages.first()
            assertEquals("bot", answer.authorId)
        }
}
