package dev.concierge.examples

import dev.concierge.sdk.ConciergeClient
import dev.concierge.sdk.ConciergeConfig
import dev.concierge.sdk.ConciergeServerClient
import dev.concierge.sdk.TokenGrant
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking

/**
 * A member's app on the JVM, end to end: the org's backend mints a member token (in a real app the app asks the
 * backend over its own API; here the backend is in-process), the app opens a conversation, sends a message, and
 * waits for the concierge's reply on the live stream.
 *
 * Run: CONCIERGE_URL=http://localhost:8080 CONCIERGE_API_KEY=ck_live_… java … dev.concierge.examples.MemberChatKt
 */
fun main(): Unit =
    runBlocking {
        val url = System.getenv("CONCIERGE_URL") ?: "http://localhost:8080"
        val backend = ConciergeServerClient(url, System.getenv("CONCIERGE_API_KEY") ?: error("set CONCIERGE_API_KEY"))
        println(memberChat(url, backend, "member-42"))
    }

/** Returns the concierge's reply to the member's first message. */
suspend fun memberChat(
    baseUrl: String,
    backend: ConciergeServerClient,
    externalUserID: String,
): String {
    // The app's refresh hook: ask "our backend" for a fresh token whenever the SDK needs one.
    val refresh: suspend () -> TokenGrant = { backend.exchangeToken(externalUserID, displayName = "Ada") }
    val first = refresh()
    val client = ConciergeClient(ConciergeConfig(baseUrl, first.accessToken, first.expiresAt, refresh))

    val conversation = client.openConversation(title = "Dinner on Friday")
    val mine = client.sendMessage(conversation.id, "A table for two at eight, please.")
    // The concierge side (here: the same backend) answers; the member's stream shows it. syncMessages starts
    // with the latest page, so the reply is there whether it lands before or after the stream connects.
    backend.sendMessage(conversation.id, "Booked: 8 pm, window table.", authorId = "agent-ann")
    val reply = client.syncMessages(conversation.id).first { it.id != mine.message.id && it.type == "concierge" }
    return reply.body ?: ""
}
