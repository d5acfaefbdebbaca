package dev.concierge.sdk.internal

import dev.concierge.sdk.Conversation
import dev.concierge.sdk.Event
import dev.concierge.sdk.Message
import dev.concierge.sdk.MessagePage
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlinx.serialization.SerializationException
import kotlinx.serialization.json.jsonObject

/** Lists one page of a conversation's history: `(cursor, limit)`. */
internal typealias ListPage = suspend (cursor: String?, limit: Int) -> MessagePage

/**
 * One conversation's messages, gapless (the twin of `@concierge/sdk`'s `messageStream` in `core/streams.ts`). With a
 * resume point ([after]) the server replays what is newer. Without one, the stream starts from history: one page
 * ([history] messages, yielded oldest first when [history] > 0), whose `latestCursor` becomes the resume point, so
 * whatever is sent after the page arrives over the stream, none of it twice.
 *
 * A server too old to send `latestCursor` (its page has it empty) gets the same guarantee the long way: the page's
 * newest message is the anchor, and whenever a connection opens without a resume point, history is walked back to the
 * anchor and what is newer is yielded first. Every message id is remembered (the last 2000), so the seams never
 * repeat one.
 */
internal fun Transport.messageFlow(
    list: ListPage,
    path: String,
    query: Map<String, Any?>,
    history: Int,
    after: String?,
): Flow<Message> =
    flow {
        val state = StreamState(after)
        val seen = RecentIds()
        var anchor: String? = null
        if (state.lastEventId == null) {
            val page = firstPage { list(null, maxOf(history, 1)) }
            anchor = page.messages.firstOrNull()?.id
            val latest = page.latestCursor
            if (latest.isNotEmpty()) state.lastEventId = latest
            if (history > 0) {
                for (m in page.messages.asReversed()) {
                    seen.add(m.id)
                    emit(m)
                }
            }
        }
        val onOpen: suspend (String?) -> List<Message> = { resumeId ->
            if (resumeId != null) {
                emptyList()
            } else {
                val missed = ArrayList<Message>()
                var cursor: String? = null
                // Bounded: a walk that does not meet the anchor in 50 pages of 100 stops there.
                for (i in 0 until 50) {
                    val page = list(cursor, 100)
                    val at = if (anchor == null) -1 else page.messages.indexOfFirst { it.id == anchor }
                    missed.addAll(if (at >= 0) page.messages.subList(0, at) else page.messages)
                    if (at >= 0 || page.nextCursor == null) break
                    cursor = page.nextCursor
                }
                missed.asReversed()
            }
        }
        resumable(path, query, state, onOpen).collect { item ->
            val message =
                when (item) {
                    is Item.Fill -> item.value
                    is Item.Live -> json.decodeFromString(Message.serializer(), item.event.data)
                }
            if (message.id in seen) return@collect
            seen.add(message.id)
            anchor = message.id
            emit(message)
        }
    }

/** The first page, retried like a reconnect: a stream started offline waits for the network. */
private suspend fun firstPage(fetch: suspend () -> MessagePage): MessagePage {
    var failures = 1
    while (true) {
        try {
            return fetch()
        } catch (e: Exception) {
            if (fatal(e)) throw e
        }
        delay(backoff(failures++))
    }
}

/**
 * The one-connection stream of typed events, resumed by id after every drop, duplicates dropped. Event names this
 * SDK does not know are skipped (the server may add some). Typing events carry no id: they are not replayed.
 */
internal fun Transport.eventFlow(
    path: String,
    query: Map<String, Any?>,
    after: String?,
): Flow<Event> =
    flow {
        val seen = RecentIds()
        resumable<Nothing>(path, query, StreamState(after)).collect { item ->
            val raw = (item as? Item.Live)?.event ?: return@collect
            val id = raw.id?.takeIf { it.isNotEmpty() }
            val event = decodeEvent(raw.event, id, raw.data) ?: return@collect
            if (id != null) {
                if (id in seen) return@collect
                seen.add(id)
            }
            emit(event)
        }
    }

private fun decodeEvent(
    name: String?,
    id: String?,
    data: String,
): Event? {
    if (name !in EVENT_NAMES) return null
    val o = json.parseToJsonElement(data).jsonObject

    fun text(key: String) = o.string(key) ?: throw SerializationException("The $name event has no $key.")
    return when (name) {
        "message" ->
            Event.MessageCreated(
                id,
                text("conversationID"),
                json.decodeFromJsonElement(Message.serializer(), o["message"]!!),
            )
        "conversation" ->
            Event.ConversationUpdated(
                id,
                json.decodeFromJsonElement(Conversation.serializer(), o["conversation"]!!),
                o.string("externalUserID"),
            )
        "read" ->
            Event.Read(
                id,
                text("conversationID"),
                text("reader"),
                text("readerID"),
                text("messageID"),
                text("readAt"),
            )
        else -> Event.Typing(text("conversationID"), text("typist"), text("typistID"), text("at"))
    }
}

private val EVENT_NAMES = setOf("message", "conversation", "read", "typing")
