package dev.concierge.sdk.internal

import dev.concierge.sdk.NetworkException
import kotlinx.serialization.DeserializationStrategy
import kotlinx.serialization.KSerializer
import kotlinx.serialization.SerializationException
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.JsonTransformingSerializer
import kotlinx.serialization.json.booleanOrNull
import okhttp3.OkHttpClient
import java.util.concurrent.TimeUnit

/** One decoder for every answer: the server may add keys (docs/api.md), so unknown ones are ignored. */
internal val json: Json =
    Json {
        ignoreUnknownKeys = true
        explicitNulls = false
        coerceInputValues = true
    }

/**
 * The default OkHttpClient, made on first use and shared by every client of the process (OkHttp's advice: one
 * client, one connection pool). Holds no credential and no setting of ours.
 */
internal val defaultHttpClient: OkHttpClient by lazy {
    // No read timeout of OkHttp's own (10 s): each call's `timeoutMs` bounds the whole attempt, body included, and
    // streams set theirs to three heartbeats.
    OkHttpClient.Builder().readTimeout(0, TimeUnit.MILLISECONDS).build()
}

internal fun JsonObject.string(key: String): String? = (this[key] as? JsonPrimitive)?.takeIf { it.isString }?.content

internal fun JsonObject.boolean(key: String): Boolean? = (this[key] as? JsonPrimitive)?.booleanOrNull

/** `{"error": {...}}` of a non-2xx answer, or null when the body is something else (a proxy's HTML page). */
internal fun decodeEnvelope(text: String): JsonObject? =
    try {
        (json.parseToJsonElement(text) as? JsonObject)?.get("error") as? JsonObject
    } catch (_: Exception) {
        null
    }

/** Decodes a 2xx answer; one that is not the JSON expected came from something between us and the server. */
internal fun <T> Answer.decode(serializer: DeserializationStrategy<T>): T =
    try {
        json.decodeFromString(serializer, body)
    } catch (e: IllegalArgumentException) {
        throw NetworkException("The $status answer is not the JSON expected.", e)
    }

/** The value under [key] of an answer's object (`{"conversations": [...]}`, `{"ok": true, "conversation": {...}}`). */
internal fun <T> field(
    key: String,
    serializer: KSerializer<T>,
): DeserializationStrategy<T> =
    object : JsonTransformingSerializer<T>(serializer) {
        override fun transformDeserialize(element: JsonElement): JsonElement =
            (element as? JsonObject)?.get(key) ?: throw SerializationException("The answer has no \"$key\".")
    }

/** [serializer] with [key] set to [value] when the answer lacks it: a field older servers do not send. */
internal fun <T> withDefault(
    serializer: KSerializer<T>,
    key: String,
    value: JsonElement,
): KSerializer<T> =
    object : JsonTransformingSerializer<T>(serializer) {
        override fun transformDeserialize(element: JsonElement): JsonElement =
            if (element !is JsonObject || key in element) element else JsonObject(element + (key to value))
    }
