package dev.concierge.sdk.internal

import java.time.ZonedDateTime
import java.time.format.DateTimeFormatter
import kotlin.math.max
import kotlin.math.min
import kotlin.math.pow
import kotlin.math.roundToLong
import kotlin.random.Random

/** Retry-After is clamped to this: a server asking for more is treated as asking for five minutes. */
internal const val MAX_RETRY_AFTER_MS: Long = 300_000

private val SECONDS = Regex("""^\d+(\.\d+)?$""")
private val NEGATIVE = Regex("""^-\d+(\.\d+)?$""")

/**
 * `Retry-After` (RFC 9110 §10.2.3): delta-seconds or an HTTP-date. Fractional seconds ("0.5") are read as seconds.
 * Null when absent or unreadable, else milliseconds clamped to 0..300 s.
 */
internal fun parseRetryAfter(
    value: String?,
    nowMs: Long = System.currentTimeMillis(),
): Long? {
    val text = value?.trim() ?: return null
    if (text.isEmpty()) return null
    val ms: Double =
        when {
            SECONDS.matches(text) -> text.toDouble() * 1000
            NEGATIVE.matches(text) -> 0.0
            else ->
                try {
                    (ZonedDateTime.parse(text, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant().toEpochMilli() - nowMs)
                        .toDouble()
                } catch (_: Exception) {
                    return null
                }
        }
    return min(MAX_RETRY_AFTER_MS, max(0L, ms.roundToLong()))
}

/** Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): random(0, min(cap, base × 2^attempt)). */
internal fun fullJitter(
    attempt: Int,
    baseMs: Long = 500,
    capMs: Long = 10_000,
): Long {
    val ceiling = min(capMs.toDouble(), baseMs * 2.0.pow(attempt))
    return (Random.nextDouble() * ceiling).toLong()
}
