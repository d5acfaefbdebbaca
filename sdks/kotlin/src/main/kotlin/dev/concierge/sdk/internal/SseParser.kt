package dev.concierge.sdk.internal

/** What one SSE connection yields, in order. */
internal sealed interface SseItem {
    /** The first bytes of the body arrived: the server has registered the subscription. */
    object Opened : SseItem

    /** A dispatched event (WHATWG HTML §9.2.6: data lines joined with LF). [id] is this block's `id:` field. */
    class Event(
        val id: String?,
        val event: String?,
        val data: String,
    ) : SseItem

    /**
     * A block with an `id:` and no `data:`. It dispatches no event, but still sets the last event id (WHATWG): the
     * server starts a live stream with one, so a drop before the first event resumes from there.
     */
    class IdOnly(
        val id: String,
    ) : SseItem

    /** A `retry:` field: the server's reconnection time. */
    class Retry(
        val ms: Long,
    ) : SseItem
}

/** Line-by-line SSE decoding (WHATWG HTML "Interpreting an event stream"); comments (`: heartbeat`) yield nothing. */
internal class SseParser {
    private val data = StringBuilder()
    private var hasData = false
    private var event: String? = null
    private var id: String? = null

    /** Feeds one line without its terminator; returns what it completes, if anything. */
    fun line(line: String): SseItem? {
        if (line.isEmpty()) return dispatch()
        if (line.startsWith(":")) return null
        val colon = line.indexOf(':')
        val field = if (colon < 0) line else line.substring(0, colon)
        var value = if (colon < 0) "" else line.substring(colon + 1)
        if (value.startsWith(" ")) value = value.substring(1)
        when (field) {
            "data" -> {
                if (hasData) data.append('\n')
                data.append(value)
                hasData = true
            }
            "event" -> event = value
            "id" -> if ('\u0000' !in value) id = value
            "retry" -> if (value.isNotEmpty() && value.all { it in '0'..'9' }) return SseItem.Retry(value.toLong())
        }
        return null
    }

    private fun dispatch(): SseItem? {
        val item =
            when {
                hasData -> SseItem.Event(id, event, data.toString())
                id != null -> SseItem.IdOnly(id!!)
                else -> null
            }
        data.setLength(0)
        hasData = false
        event = null
        id = null
        return item
    }
}
