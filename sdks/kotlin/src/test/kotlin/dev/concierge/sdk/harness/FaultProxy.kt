package dev.concierge.sdk.harness

import java.io.ByteArrayOutputStream
import java.io.InputStream
import java.io.OutputStream
import java.net.InetAddress
import java.net.ServerSocket
import java.net.Socket
import java.net.URI
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicBoolean
import kotlin.concurrent.thread

/**
 * A real TCP proxy in front of the real server, for fault injection (the twin of the TypeScript suites'
 * packages/sdk-tests/src/lib/fault-proxy.ts). It reads each request's head and sets `Connection: close` on it and
 * on its answer, so every connection carries exactly one request and a fault lands on the request it was meant
 * for; it applies the first matching fault, and otherwise passes bytes both ways untouched.
 */
class FaultProxy(
    upstream: String,
) : AutoCloseable {
    sealed interface Fault {
        /** Answers itself (never forwards), e.g. a 503 with `Retry-After`. */
        data class Respond(
            val status: Int,
            val headers: Map<String, String> = emptyMap(),
            val body: String = "",
        ) : Fault

        /** Closes the connection before forwarding anything: the server never sees the request. */
        object Reset : Fault

        /** Forwards, and cuts the connection when the answer starts: the server did the work, the client never learns. */
        object Drop : Fault
    }

    class Seen(
        val method: String,
        val path: String,
        val headers: Map<String, String>,
        val fault: String,
    ) {
        /** The server's whole answer has passed. */
        @Volatile var done = false
    }

    private class Rule(
        val method: String,
        val path: String,
        val fault: Fault,
        var times: Int,
    )

    private class Link(
        val path: String,
        val client: Socket,
    ) {
        @Volatile var upstream: Socket? = null

        /** The server's answer has started (for a stream: the server has registered it). */
        @Volatile var answering = false

        /** Some SSE `data:` has passed to the client on this connection. */
        @Volatile var delivered = false

        /** Nothing more of the answer passes, though the connection stays open. */
        @Volatile var silenced = false
        private val closed = AtomicBoolean()

        /** Up, and carrying an answer to [path]. */
        fun answers(path: String) = this.path == path && answering && !closed.get()

        fun close() {
            if (!closed.compareAndSet(false, true)) return
            runCatching { client.close() }
            runCatching { upstream?.close() }
        }
    }

    private val target = URI(upstream)
    private val server = ServerSocket(0, 200, InetAddress.getLoopbackAddress())
    val url = "http://127.0.0.1:${server.localPort}"
    val requests = CopyOnWriteArrayList<Seen>()
    private val rules = ArrayList<Rule>()
    private val live: MutableSet<Link> =
        java.util.concurrent.ConcurrentHashMap
            .newKeySet()

    init {
        thread(isDaemon = true, name = "fault-proxy-accept") {
            while (!server.isClosed) {
                val socket =
                    try {
                        server.accept()
                    } catch (_: Exception) {
                        break
                    }
                thread(isDaemon = true, name = "fault-proxy-conn") { handle(socket) }
            }
        }
    }

    /** The next [times] requests for [path] (any query) with [method] get [fault]. */
    fun inject(
        method: String,
        path: String,
        fault: Fault,
        times: Int = 1,
    ) {
        synchronized(rules) { rules.add(Rule(method, path, fault, times)) }
    }

    fun seen(
        method: String,
        path: String,
    ): List<Seen> = requests.filter { it.method == method && it.path == path }

    /** Connections to [path] whose answer has started and that are still open. */
    fun open(path: String): Int = live.count { it.answers(path) }

    /** Open connections to [path] that have delivered an event themselves. */
    fun delivering(path: String): Int = live.count { it.answers(path) && it.delivered }

    /** Cuts every open connection to [path]; returns how many. */
    fun cut(path: String): Int {
        val links = live.filter { it.answers(path) }
        links.forEach { it.close() }
        return links.size
    }

    /** Lets nothing more of the answers on [path] through, keeping the connections open. */
    fun silence(path: String): Int {
        val links = live.filter { it.answers(path) }
        links.forEach { it.silenced = true }
        return links.size
    }

    override fun close() {
        server.close()
        live.forEach { it.close() }
    }

    private fun handle(client: Socket) {
        val input = client.getInputStream().buffered()
        val head = readHead(input) ?: return client.close()
        val lines = head.split("\r\n")
        val (method, targetPath) = lines[0].split(" ").let { it[0] to it[1] }
        val path = targetPath.substringBefore('?')
        val headers =
            lines.drop(1).filter { it.contains(':') }.associate {
                it.substringBefore(':').trim().lowercase() to
                    it.substringAfter(':').trim()
            }
        val fault =
            synchronized(rules) {
                rules.firstOrNull { it.times > 0 && it.method == method && it.path == path }?.also { it.times-- }?.fault
            }
        val seen =
            Seen(
                method,
                path,
                headers,
                when (fault) {
                    null -> "pass"
                    is Fault.Respond -> "respond"
                    Fault.Reset -> "reset"
                    Fault.Drop -> "drop"
                },
            )
        requests.add(seen)
        when (fault) {
            is Fault.Respond -> {
                val body = fault.body.toByteArray()
                val extra = fault.headers.entries.joinToString("") { "${it.key}: ${it.value}\r\n" }
                val answer =
                    "HTTP/1.1 ${fault.status} Fault\r\ncontent-type: application/json\r\n" +
                        "content-length: ${body.size}\r\nconnection: close\r\n$extra\r\n"
                runCatching {
                    client.getOutputStream().apply {
                        write(answer.toByteArray())
                        write(body)
                        flush()
                    }
                }
                // Let the client read the answer, then close: its reading end sees a clean EOF.
                runCatching { client.shutdownOutput() }
                runCatching { input.readAllBytes() }
                client.close()
            }
            Fault.Reset -> {
                client.setSoLinger(true, 0)
                client.close()
            }
            else -> forward(client, input, lines, path, seen, fault == Fault.Drop)
        }
    }

    private fun forward(
        client: Socket,
        input: InputStream,
        lines: List<String>,
        path: String,
        seen: Seen,
        drop: Boolean,
    ) {
        val link = Link(path, client)
        live.add(link)
        try {
            val upstream = Socket(target.host, target.port)
            link.upstream = upstream
            upstream.getOutputStream().write(withClose(lines).toByteArray())
            thread(isDaemon = true, name = "fault-proxy-up") {
                runCatching { input.copyTo(upstream.getOutputStream()) }
                // The client hung up (clients never half-close an HTTP/1.1 request): so does the server's side.
                link.close()
            }
            val fromServer = upstream.getInputStream().buffered()
            val answerHead = readHead(fromServer) ?: return
            link.answering = true
            if (drop) return
            val out = client.getOutputStream()
            out.write(withClose(answerHead.split("\r\n")).toByteArray())
            out.flush()
            pump(fromServer, out, link)
            seen.done = true
        } catch (_: Exception) {
            // A cut or a reset on either side: the link ends, which is the point.
        } finally {
            live.remove(link)
            link.close()
        }
    }

    private fun pump(
        from: InputStream,
        to: OutputStream,
        link: Link,
    ) {
        val buffer = ByteArray(16 * 1024)
        while (true) {
            val n = from.read(buffer)
            if (n < 0) return
            if (link.silenced) continue
            to.write(buffer, 0, n)
            to.flush()
            if (String(buffer, 0, n, Charsets.UTF_8).contains("data:")) link.delivered = true
        }
    }

    /** The head with its `Connection` header replaced by `Connection: close`. */
    private fun withClose(lines: List<String>): String =
        (
            listOf(lines[0]) + lines.drop(1).filter { it.isNotEmpty() && !it.lowercase().startsWith("connection:") } +
                "Connection: close"
        ).joinToString("\r\n") + "\r\n\r\n"

    /** Reads up to and including the blank line that ends a head; returns it without that blank line. */
    private fun readHead(input: InputStream): String? {
        val out = ByteArrayOutputStream()
        var matched = 0
        val end = "\r\n\r\n"
        while (matched < 4) {
            val b = input.read()
            if (b < 0) return null
            out.write(b)
            matched =
                if (b.toChar() == end[matched]) {
                    matched + 1
                } else if (b == '\r'.code) {
                    1
                } else {
                    0
                }
        }
        return out.toString(Charsets.UTF_8).removeSuffix(end)
    }
}
