package dev.concierge.sdk

import kotlinx.serialization.SerialName
import kotlinx.serialization.Serializable
import kotlinx.serialization.json.JsonObject

/*
 * The wire shapes (docs/api.md), decoded with `ignoreUnknownKeys`: the server may add keys. Kotlin names say `Id`
 * where the wire says `ID`; `externalUserID` keeps its wire spelling, the name the org's backend knows it by.
 */

/** One message. [type] is `member`, `concierge` or `system` (kept as a string: more may come). */
@Serializable
public data class Message(
    val id: String,
    val type: String,
    /** A member's message: their externalUserID. A concierge message: the agent's id, or `concierge`. */
    @SerialName("authorID") val authorId: String,
    /** Null for a non-text or system message. */
    val body: String? = null,
    /** ISO-8601 with `Z`. */
    val createdAt: String,
)

@Serializable
public data class Conversation(
    val id: String,
    val type: String,
    val title: String? = null,
    val lastMessageAt: String? = null,
    /** Messages from the other side after the member's read mark. */
    val unreadCount: Int = 0,
)

/**
 * A member (the hosted API's MemberSummary). [tier] is never null from this server (the org's default tier when
 * the member has none). The hosted API's `redemptionCounts` and `wallet`, always empty here (Concierge has no
 * loyalty features), are not decoded.
 */
@Serializable
public data class Member(
    val externalUserID: String,
    val displayName: String? = null,
    val email: String? = null,
    val tier: String? = null,
    /** The org's own JSON object about the member, as last stored with [ConciergeServerClient.setMember]. */
    val attributes: JsonObject? = null,
    /** When [ConciergeServerClient.removeMember] archived the member; null while active. */
    val archivedAt: String? = null,
    val createdAt: String,
    val updatedAt: String,
)

/**
 * One page of the org's members, newest first. A plain class decoded by hand (ConciergeServerClient.listMembers),
 * not a serializable data class: the jar ships in Android apps and stays within its size budget (JarSizeTest).
 */
public class MemberPage(
    public val members: List<Member>,
    /** Pass back as `cursor` for the next (older) page; null on the last. */
    public val nextCursor: String?,
)

/** One page of history, newest first. */
@Serializable
public data class MessagePage(
    val messages: List<Message>,
    /** Pass back as `cursor` for the next (older) page; null ends the history. */
    val nextCursor: String? = null,
    /**
     * The position of the newest message on this page (or of the conversation's start): a stream resumed from it
     * goes live from this page with no gap. Null from servers that predate it.
     */
    val latestCursor: String? = null,
)

/** `sendMessage`'s answer; [replayed] when it is the stored answer of an earlier send with the same key. */
@Serializable
public data class SendMessageResponse(
    val ok: Boolean,
    /** The message as stored, to reconcile an optimistic copy. */
    val message: Message,
    @kotlinx.serialization.Transient val replayed: Boolean = false,
)

/** A member token and when it expires: what `POST /v1/auth/exchange` answers and what a refresh hook returns. */
@Serializable
public data class TokenGrant(
    val accessToken: String,
    /** ISO-8601 instant; null when unknown (then only a 401 triggers the next refresh). */
    val expiresAt: String? = null,
)
