package dev.concierge.sdk.internal

import dev.concierge.sdk.MessagePage
import dev.concierge.sdk.SendMessageResponse
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive

/** A JSON object of the non-null entries: optional fields are left out, never sent as null. */
internal fun body(vararg entries: Pair<String, String?>): JsonObject =
    JsonObject(entries.mapNotNull { (k, v) -> v?.let { k to JsonPrimitive(it) } }.toMap())

internal suspend fun Transport.listPage(
    conversationId: String,
    externalUserID: String?,
    limit: Int?,
    cursor: String?,
): MessagePage =
    call(
        messagePage,
        "GET",
        "/v1/conversations/${segment(conversationId)}/messages",
        mapOf("limit" to limit, "cursor" to cursor, "externalUserID" to externalUserID),
    )

/** A page from a server that predates `latestCursor` has it empty: streams then find their start the long way. */
private val messagePage = withDefault(MessagePage.serializer(), "latestCursor", JsonPrimitive(""))

internal suspend fun Transport.send(
    conversationId: String,
    externalUserID: String?,
    payload: JsonObject,
    idempotencyKey: String,
): SendMessageResponse =
    request(
        "POST",
        "/v1/conversations/${segment(conversationId)}/messages",
        mapOf("externalUserID" to externalUserID),
        payload,
        idempotencyKey,
    ) { it.decode(SendMessageResponse.serializer()).copy(replayed = it.replayed) }

/** A call whose answer only needs to be a 2xx (`{"ok": true}`). */
internal suspend fun Transport.post(
    path: String,
    query: Map<String, Any?> = emptyMap(),
) = request("POST", path, query) { }

/** Every message of the history, newest first, each page fetched when the previous one has been consumed. */
internal fun Transport.allMessages(
    conversationId: String,
    externalUserID: String?,
    limit: Int?,
): Flow<Message> =
    flow {
        var cursor: String? = null
        do {
            val page = listPage(conversationId, externalUserID, limit, cursor)
            for (m in page.messages) emit(m)
            cursor = page.nextCursor
        } while (cursor != null)
    }

private typealias Message = dev.concierge.sdk.Message
