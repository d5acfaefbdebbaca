package dev.concierge.sdk.harness

import java.io.File
import java.net.URI
import java.nio.file.Files
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger

/**
 * The stores every contract test runs against, as in the JavaScript suites (STYLE pattern 3): SQLite always,
 * PostgreSQL when `CONCIERGE_TEST_PG_URL` names a server where tests may create databases (scripts/test.mjs
 * starts one). `STORES=sqlite` (or `postgres`) narrows the list.
 */
enum class Store {
    SQLITE,
    POSTGRES,
    ;

    override fun toString(): String = name.lowercase()

    /** A new, empty database of this store. */
    fun fresh(): String =
        when (this) {
            SQLITE -> "sqlite:" + File(Files.createTempDirectory("concierge-kt-").toFile(), "concierge.db").path
            POSTGRES -> createPostgresDatabase(System.getenv("CONCIERGE_TEST_PG_URL")!!)
        }

    companion object {
        @JvmStatic
        fun selected(): List<Store> {
            val all =
                listOf(SQLITE) + if (System.getenv("CONCIERGE_TEST_PG_URL") != null) listOf(POSTGRES) else emptyList()
            val filter =
                System
                    .getenv("STORES")
                    ?.split(',')
                    ?.map { it.trim() }
                    ?.filter { it.isNotEmpty() }
            return if (filter.isNullOrEmpty()) all else all.filter { it.toString() in filter }
        }
    }
}

private val counter = AtomicInteger()

/** CREATE DATABASE through the `pg` package the repository already has (no JDBC driver just for tests). */
private fun createPostgresDatabase(admin: String): String {
    val name = "concierge_kt_${ProcessHandle.current().pid()}_${System.currentTimeMillis().toString(
        36,
    )}_${counter.getAndIncrement()}"
    val script =
        "const pg=require('pg');const c=new pg.Client({connectionString:process.argv[1]});" +
            "c.connect().then(()=>c.query('CREATE DATABASE '+process.argv[2])).then(()=>c.end())" +
            ".catch(e=>{console.error(e);process.exit(1)})"
    val process =
        ProcessBuilder("node", "-e", script, admin, name).directory(repoRoot).redirectErrorStream(true).start()
    val output = process.inputStream.bufferedReader().readText()
    check(process.waitFor(60, TimeUnit.SECONDS) && process.exitValue() == 0) { "CREATE DATABASE failed: $output" }
    val uri = URI(admin)
    return URI(uri.scheme, uri.userInfo, uri.host, uri.port, "/$name", uri.query, null).toString()
}

/**
 * One server per store and set of flags, shared by every test class of the run (a server start costs a second or
 * two on a loaded machine), stopped when the JVM exits. Tests isolate themselves by member and conversation.
 */
object Servers {
    private val running = ConcurrentHashMap<Pair<Store, List<String>>, TestServer>()

    init {
        Runtime.getRuntime().addShutdownHook(Thread { running.values.forEach { it.close() } })
    }

    fun get(
        store: Store,
        vararg args: String,
    ): TestServer =
        running.computeIfAbsent(store to args.toList()) {
            // One address sends everything here: the per-credential and per-address limits would pace the tests.
            TestServer.start(store.fresh(), listOf("--rate-limit", "0", "--ip-rate-limit", "0") + args)
        }
}
