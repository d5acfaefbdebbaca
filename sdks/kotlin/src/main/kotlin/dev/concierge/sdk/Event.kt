package dev.concierge.sdk

/**
 * An event of the one-connection stream (`GET /v1/stream`, docs/sse.md "Event catalogue"). [id] is the resume
 * point; typing events are not stored and carry none. Event names this SDK does not know are skipped.
 */
public sealed class Event {
    public abstract val id: String?

    /** A message was committed in a conversation in scope. */
    public data class MessageCreated(
        override val id: String?,
        val conversationId: String,
        val message: Message,
    ) : Event()

    /** A conversation was created or changed (title, last message, unread count). */
    public data class ConversationUpdated(
        override val id: String?,
        val conversation: Conversation,
        /** On server-credential streams: which member the conversation belongs to. */
        val externalUserID: String?,
    ) : Event()

    /** A read mark moved. [reader] is `member` or `concierge`. */
    public data class Read(
        override val id: String?,
        val conversationId: String,
        val reader: String,
        val readerId: String,
        val messageId: String,
        val readAt: String,
    ) : Event()

    /** Someone is typing. [typist] is `member` or `concierge`. Ephemeral: never replayed after a drop. */
    public data class Typing(
        val conversationId: String,
        val typist: String,
        val typistId: String,
        val at: String,
    ) : Event() {
        override val id: String? get() = null
    }
}
