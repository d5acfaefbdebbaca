package dev.concierge.sdk.harness

import java.io.File
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit
import kotlin.concurrent.thread

/** This repository's root, where the server's CLI lives (surefire passes it; `sdks/kotlin/../..` otherwise). */
val repoRoot: File = File(System.getProperty("concierge.repoRoot") ?: "../..").canonicalFile

/**
 * One real server process, started through the CLI on a free port with its own database, as a user would and as
 * the JavaScript suites do (packages/tests/src/harness/server.ts): `serve --port 0`, the URL and the first org's
 * Org-API-Key read from its banner.
 */
class TestServer private constructor(
    private val process: Process,
    val url: String,
    /** The separate metrics listener's `/metrics` URL (loopback, a free port in tests). */
    val metricsUrl: String,
    val apiKey: String,
    val orgId: String,
) : AutoCloseable {
    override fun close() {
        process.destroy()
        if (!process.waitFor(15, TimeUnit.SECONDS)) process.destroyForcibly().waitFor()
    }

    companion object {
        private val LISTENING = Regex("""concierge listening on (http://\S+)""")
        private val METRICS = Regex("""concierge metrics on (http://\S+)""")
        private val KEY = Regex("""Org-API-Key: (ck_live_\S+)""")
        private val ORG = Regex("""Org ID: +(\S+)""")

        fun start(
            databaseUrl: String,
            args: List<String> = emptyList(),
        ): TestServer {
            val cli = File(repoRoot, "packages/server/bin/concierge.js")
            check(File(repoRoot, "packages/server/dist/cli.js").exists()) {
                "The server is not built: run `npx tsc -b` in ${repoRoot.path} first."
            }
            val command =
                listOf(
                    "node",
                    cli.path,
                    "serve",
                    "--port",
                    "0",
                    "--host",
                    "127.0.0.1",
                    "--database",
                    databaseUrl,
                    "--log-level",
                    System.getenv("CONCIERGE_TEST_LOG_LEVEL") ?: "warn",
                    "--metrics-port",
                    "0",
                ) + args
            val process = ProcessBuilder(command).directory(repoRoot).redirectErrorStream(true).start()
            val stdout = StringBuilder()
            val ready = CompletableFuture<String>()
            thread(isDaemon = true, name = "concierge-server-stdout") {
                process.inputStream.bufferedReader().forEachLine { line ->
                    synchronized(stdout) { stdout.appendLine(line) }
                    LISTENING.find(line)?.let { ready.complete(it.groupValues[1]) }
                }
                ready.completeExceptionally(IllegalStateException("server exited ${process.waitFor()}:\n$stdout"))
            }
            val url =
                try {
                    ready.get(60, TimeUnit.SECONDS)
                } catch (e: Exception) {
                    process.destroyForcibly()
                    throw IllegalStateException("server did not start:\n${synchronized(stdout) { stdout }}", e)
                }
            val banner = synchronized(stdout) { stdout.toString() }
            val key = KEY.find(banner)?.groupValues?.get(1) ?: error("no Org-API-Key in the banner:\n$banner")
            val org = ORG.find(banner)?.groupValues?.get(1) ?: ""
            val metrics =
                METRICS.find(banner)?.groupValues?.get(1) ?: error("no metrics listener in the banner:\n$banner")
            return TestServer(process, url, metrics, key, org)
        }
    }
}
