package dev.concierge.sdk

import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.io.File
import java.util.zip.Deflater

/** The SDK ships inside Android apps: its own classes, compressed as the jar stores them, stay within 200 KiB. */
class JarSizeTest {
    @Test
    fun `the SDK's own classes are at most 200 KiB in the jar`() {
        val classes = File(System.getProperty("concierge.classesDir") ?: "target/classes")
        val files = classes.walkTopDown().filter { it.isFile && it.name.endsWith(".class") }.toList()
        assertTrue(files.size > 10, "no classes under $classes")
        val compressed = files.sumOf { deflatedSize(it.readBytes()) }
        assertTrue(compressed <= 200 * 1024, "the classes take $compressed bytes compressed (${files.size} files)")
    }

    /** What a jar entry of these bytes takes at the jar tool's default level (plus its headers, ~100 bytes). */
    private fun deflatedSize(bytes: ByteArray): Long {
        val deflater = Deflater(Deflater.DEFAULT_COMPRESSION, true)
        deflater.setInput(bytes)
        deflater.finish()
        val buffer = ByteArray(64 * 1024)
        var total = 0L
        while (!deflater.finished()) total += deflater.deflate(buffer)
        deflater.end()
        return total + 100
    }
}
