package dev.concierge.sdk

import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.io.File
import java.util.zip.Deflater

/**
 * The SDK ships inside Android apps. Its hand-written classes, compressed as the jar stores them, stay within
 * 200 KiB. The models generated from the contract (`dev.concierge.sdk.model`, one per component schema) grow with
 * the contract, so they are held per model instead: 8 KiB on average for a class, its serializer and its companion,
 * which a template that needed the generator's infrastructure classes, or wrote more than plain data classes, would
 * exceed.
 */
class JarSizeTest {
    private val classes = File(System.getProperty("concierge.classesDir") ?: "target/classes")
    private val models = File(classes, "dev/concierge/sdk/model")

    private fun classFiles(dir: File) = dir.walkTopDown().filter { it.isFile && it.name.endsWith(".class") }.toList()

    @Test
    fun `the SDK's own classes are at most 200 KiB in the jar`() {
        val files = classFiles(classes).filter { !it.startsWith(models) }
        assertTrue(files.size > 10, "no classes under $classes")
        val compressed = files.sumOf { deflatedSize(it.readBytes()) }
        assertTrue(compressed <= 200 * 1024, "the classes take $compressed bytes compressed (${files.size} files)")
    }

    @Test
    fun `the generated models take at most 8 KiB each in the jar`() {
        val files = classFiles(models)
        val count = files.map { it.name.substringBefore('$').removeSuffix(".class") }.toSet().size
        assertTrue(count >= 5, "no generated models under $models")
        val compressed = files.sumOf { deflatedSize(it.readBytes()) }
        assertTrue(compressed <= count * 8 * 1024, "$count models take $compressed bytes compressed")
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
