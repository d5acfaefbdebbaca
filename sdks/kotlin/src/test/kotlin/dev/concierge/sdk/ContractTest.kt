package dev.concierge.sdk

import dev.concierge.sdk.harness.Fixture
import dev.concierge.sdk.harness.Store
import dev.concierge.sdk.harness.unique
import dev.concierge.sdk.harness.until
import dev.concierge.sdk.harness.within
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.put
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.MethodSource

/** The member client against the real server, on every store: what an app sees. */
class ContractTest {
    companion object {
        @JvmStatic
        fun stores() = Store.selected()
    }

    @ParameterizedTest
    @MethodSource("stores")
    fun `lists conversations and pages messages to the end with no duplicates`(store: Store) =
        runBlocking {
            Fixture(store).use { f ->
                val member = unique("pager")
                val client = f.member(member)
                val conversation = client.openConversation(title = "Dinner")
                repeat(23) { f.direct.sendMessage(conversation.id, "m$it") }

                assertEquals(member, conversation.externalUserID)
                assertEquals(listOf(conversation.id), client.listConversations().map { it.id })
                assertEquals(member, f.direct.getConversation(conversation.id, member).externalUserID)
                assertEquals("Dinner", client.getConversation(conversation.id).title)

                val seen = ArrayList<Message>()
                var cursor: String? = null
                var pages = 0
                do {
                    val page = client.listMessages(conversation.id, limit = 10, cursor = cursor)
                    seen += page.messages
                    cursor = page.nextCursor
                    pages++
                } while (cursor != null)
                assertEquals(3, pages)
                assertEquals((22 downTo 0).map { "m$it" }, seen.map { it.body })
                assertEquals(seen.size, seen.map { it.id }.toSet().size)

                val walked = client.messages(conversation.id, pageSize = 7).toList()
                assertEquals(seen, walked)
            }
        }

    @ParameterizedTest
    @MethodSource("stores")
    fun `members upsert, list newest first, archive, restore and erase`(store: Store) =
        runBlocking {
            Fixture(store).use { f ->
                val older = unique("older")
                val newer = unique("newer")
                val attributes = buildJsonObject { put("seat", "2A") }
                f.admin.setMember(older, displayName = "Old", tier = "gold", attributes = attributes)
                f.admin.setMember(newer)
                val kept = f.admin.setMember(older, displayName = "Old 2")
                assertEquals("gold", kept.tier)
                assertEquals(attributes, kept.attributes)
                assertNotNull(f.admin.getMember(newer).tier)

                // Newest first, a page at a time (the shared server may hold other tests' members too).
                val listed = ArrayList<String>()
                var cursor: String? = null
                do {
                    val page = f.admin.listMembers(limit = 1, cursor = cursor)
                    listed += page.members.map { it.externalUserID }
                    cursor = page.nextCursor
                } while (cursor != null && older !in listed)
                assertTrue(listed.indexOf(newer) in 0 until listed.indexOf(older))

                assertTrue(f.admin.removeMember(older, retainBalance = true))
                assertNotNull(f.admin.getMember(older).archivedAt)
                val refused = assertThrows<ConflictException> { f.direct.exchangeToken(older) }
                assertEquals("MEMBER_ARCHIVED", refused.code)
                assertNull(f.admin.setMember(older).archivedAt)
                f.direct.exchangeToken(older)

                assertTrue(f.admin.eraseMember(older))
                assertThrows<NotFoundException> { f.admin.getMember(older) }
            }
        }

    @ParameterizedTest
    @MethodSource("stores")
    fun `a send replayed with the same key gives the same message and says so`(store: Store) =
        runBlocking {
            Fixture(store).use { f ->
                val client = f.member(unique("sender"))
                val conversation = client.openConversation()
                val first =
                    client.sendMessage(
                        conversation.id,
                        "A table for two",
                        idempotencyKey = "key-${unique("k")}",
                    )
                val key =
                    f.proxy
                        .seen(
                            "POST",
                            "/v1/conversations/${conversation.id}/messages",
                        ).single()
                        .headers["idempotency-key"]!!
                val again = client.sendMessage(conversation.id, "A table for two", idempotencyKey = key)
                assertTrue(first.ok)
                assertFalse(first.replayed)
                assertTrue(again.replayed)
                assertEquals(first.message, again.message)
                assertEquals(1, client.listMessages(conversation.id).messages.size)

                val read = client.markRead(conversation.id, first.message.id)
                assertEquals(conversation.id, read.id)
                client.typing(conversation.id)
            }
        }

    @ParameterizedTest
    @MethodSource("stores")
    fun `a concierge reply arrives on the live stream`(store: Store) =
        runBlocking {
            Fixture(store).use { f ->
                val client = f.member(unique("listener"))
                val conversation = client.openConversation()
                val route = "/v1/conversations/${conversation.id}/stream"
                val got = async { client.streamMessages(conversation.id).take(1).toList() }
                until("the stream to connect") { f.proxy.open(route) == 1 }
                f.direct.sendMessage(conversation.id, "Booked: 8 pm, window table.", authorId = "agent-ann")
                val reply = within(20_000, "the reply") { got.await() }.single()
                assertEquals("Booked: 8 pm, window table.", reply.body)
                assertEquals("concierge", reply.type)
                assertEquals("agent-ann", reply.authorId)
                until("the stream to close once the flow is done") { f.proxy.open(route) == 0 }
            }
        }

    @ParameterizedTest
    @MethodSource("stores")
    fun `sync gives the latest page then live messages with no gap and no repeat while messages flow`(store: Store) =
        runBlocking {
            Fixture(store).use { f ->
                val client = f.member(unique("syncer"))
                val conversation = client.openConversation()
                repeat(10) { f.direct.sendMessage(conversation.id, "m$it") }
                val total = 80
                // The producer starts with the sync: messages are committed while the page is read and the stream opens.
                val producer = launch { for (i in 10 until total) f.direct.sendMessage(conversation.id, "m$i") }
                val got =
                    within(
                        60_000,
                        "every message",
                    ) { client.syncMessages(conversation.id, limit = 50).take(total).toList() }
                producer.join()
                assertEquals((0 until total).map { "m$it" }, got.map { it.body })
            }
        }

    @ParameterizedTest
    @MethodSource("stores")
    fun `events carry messages and read marks as typed events`(store: Store) =
        runBlocking {
            Fixture(store).use { f ->
                val member = unique("evented")
                val client = f.member(member)
                val conversation = client.openConversation()
                val got = async { client.events().take(2).toList() }
                until("the stream to connect") { f.proxy.open("/v1/stream") == 1 }
                val sent = f.direct.sendMessage(conversation.id, "hello")
                f.direct.markRead(conversation.id, sent.message.id)
                val events = within(20_000, "two events") { got.await() }
                val message = events.filterIsInstance<Event.MessageCreated>().single()
                assertEquals(conversation.id, message.conversationId)
                assertEquals("hello", message.message.body)
                assertNotNull(message.id)
                assertTrue(events.any { it is Event.ConversationUpdated || it is Event.Read }, "$events")
            }
        }

    @ParameterizedTest
    @MethodSource("stores")
    fun `errors are typed by status and keep the server's code and request id`(store: Store) =
        runBlocking {
            Fixture(store).use { f ->
                val client = f.member(unique("err"))
                val missing = assertThrows<NotFoundException> { client.listMessages("conv_missing") }
                assertEquals(404, missing.status)
                assertEquals("NOT_FOUND", missing.code)
                assertNotNull(missing.requestId)
                assertFalse(missing.retryable)

                // Another member's conversation ends a stream with the typed error instead of reconnecting.
                val other = f.direct.openConversation(unique("other"))
                val ended = assertThrows<NotFoundException> { client.streamMessages(other.id).toList() }
                assertEquals("NOT_FOUND", ended.code)

                val own = client.openConversation()
                val invalid = assertThrows<ValidationException> { client.sendMessage(own.id, "") }
                assertEquals(422, invalid.status)

                val bad = ConciergeClient(ConciergeConfig(f.proxy.url, "not-a-token"))
                val unauthorized = assertThrows<UnauthorizedException> { bad.listConversations() }
                assertNull(unauthorized.field)
            }
        }
}
