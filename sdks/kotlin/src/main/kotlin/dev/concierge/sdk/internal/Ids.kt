package dev.concierge.sdk.internal

/** Percent-encodes one path segment, so an id can never add a segment or a query (RFC 3986 unreserved kept). */
internal fun segment(value: String): String {
    val out = StringBuilder()
    for (b in value.toByteArray(Charsets.UTF_8)) {
        val c = b.toInt() and 0xff
        if (c in 'a'.code..'z'.code || c in 'A'.code..'Z'.code || c in '0'.code..'9'.code || c.toChar() in "-._~") {
            out.append(c.toChar())
        } else {
            out.append('%').append("0123456789ABCDEF"[c shr 4]).append("0123456789ABCDEF"[c and 0xf])
        }
    }
    return out.toString()
}

/** A bounded set of recently seen ids: the oldest is forgotten first. */
internal class RecentIds(
    private val max: Int = 2000,
) {
    private val ids = LinkedHashSet<String>()

    operator fun contains(id: String): Boolean = id in ids

    fun add(id: String) {
        ids.add(id)
        if (ids.size > max) ids.remove(ids.first())
    }
}
