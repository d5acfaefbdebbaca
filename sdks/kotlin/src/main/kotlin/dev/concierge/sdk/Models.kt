package dev.concierge.sdk

import kotlinx.serialization.Serializable

/*
 * The wire shapes are generated from the contract (docs/openapi.json) into `dev.concierge.sdk.model` at build time
 * (docs/sdk-kotlin.md "Generated models"); the names this package has always had stay as aliases of them. What
 * remains here is the SDK's own: answers it unwraps or adds to, and the type of the refresh contract.
 */

/** One message. [Message.type] is `member`, `concierge` or `system`, kept as a string: more may come. */
public typealias Message = dev.concierge.sdk.model.Message

/** A conversation, with [Conversation.externalUserID]: the member it belongs to. */
public typealias Conversation = dev.concierge.sdk.model.Conversation

/**
 * A member (the hosted API's MemberSummary). [Member.tier] is the org's default tier when the member has none;
 * [Member.attributes] is the org's own JSON object, as last stored with [ConciergeServerClient.setMember].
 */
public typealias Member = dev.concierge.sdk.model.Member

/**
 * One page of history, newest first. Pass [MessagePage.nextCursor] back as `cursor` for the next (older) page;
 * null ends the history. [MessagePage.latestCursor] is the position of the newest message on the page (or of the
 * conversation's start): a stream resumed from it goes live from this page with no gap. Empty from servers that
 * predate it.
 */
public typealias MessagePage = dev.concierge.sdk.model.MessagePage

/**
 * One page of the org's members, newest first. A plain class decoded by hand (ConciergeServerClient.listMembers),
 * not a serializable data class: the jar ships in Android apps and stays within its size budget (JarSizeTest).
 */
public class MemberPage(
    public val members: List<Member>,
    /** Pass back as `cursor` for the next (older) page; null on the last. */
    public val nextCursor: String?,
)

/** `sendMessage`'s answer; [replayed] when it is the stored answer of an earlier send with the same key. */
@Serializable
public data class SendMessageResponse(
    val ok: Boolean,
    /** The message as stored, to reconcile an optimistic copy. */
    val message: Message,
    @kotlinx.serialization.Transient val replayed: Boolean = false,
)

/**
 * A member token and when it expires: what `POST /v1/auth/exchange` answers and what a refresh hook returns. Written
 * here rather than generated: a refresh hook may not know the expiry, so [expiresAt] may be null, where the
 * exchange's answer always has one.
 */
@Serializable
public data class TokenGrant(
    val accessToken: String,
    /** ISO-8601 instant; null when unknown (then only a 401 triggers the next refresh). */
    val expiresAt: String? = null,
)
