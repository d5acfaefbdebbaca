package dev.concierge.sdk

import dev.concierge.sdk.internal.boolean
import dev.concierge.sdk.internal.string
import kotlinx.serialization.json.JsonObject
import okhttp3.Headers

/**
 * The SDK's errors, one sealed hierarchy (the Kotlin twin of `@concierge/sdk`'s `core/errors.ts`):
 *
 * ```
 * ConciergeException                  status, code, message, requestId, retryable
 * ├── ApiException                    the server answered non-2xx
 * │   ├── BadRequestException         400, 413 and any other 4xx not below
 * │   ├── UnauthorizedException       401
 * │   ├── ForbiddenException          403
 * │   ├── NotFoundException           404
 * │   ├── ConflictException           409
 * │   ├── ValidationException         422
 * │   ├── RateLimitException          429 (+ retryAfterMs)
 * │   └── ServerException             5xx
 * ├── NetworkException                no answer: refused, reset, cut mid-body
 * ├── RequestTimeoutException         no answer within `timeoutMs`
 * ├── RefreshException                the refresh hook failed (its error is `cause`)
 * └── WebhookVerificationException    verifyWebhook refused a delivery ([WebhookVerificationException.reason])
 * ```
 *
 * The class is chosen by status alone ([ApiException.from]), so a code this SDK does not know yet still lands in
 * its status's class with its string intact: branch on [code], never on [message]. Cancelling a coroutine is a
 * `CancellationException`, as everywhere in kotlinx.coroutines, never one of these.
 */
public sealed class ConciergeException(
    message: String,
    cause: Throwable? = null,
) : Exception(message, cause) {
    /** The HTTP status of the answer; null when there was none. */
    public abstract val status: Int?

    /** UPPER_SNAKE: the server's code for an answer, or `NETWORK_ERROR`, `TIMEOUT`, `REFRESH_FAILED`. */
    public abstract val code: String

    /** The answer's `x-request-id`, to quote in a bug report; null when there was no answer. */
    public abstract val requestId: String?

    /** Whether the same request may succeed later (the server's own verdict for an answer). */
    public abstract val retryable: Boolean
}

/** The server answered with a non-2xx status and (usually) the error envelope of docs/errors.md. */
public sealed class ApiException(
    final override val status: Int,
    final override val code: String,
    message: String,
    final override val requestId: String?,
    final override val retryable: Boolean,
    /** For validation errors: the field at fault. */
    public val field: String?,
    /** The answer's headers (`Retry-After`, `x-should-retry`, rate-limit headers). */
    public val headers: Headers,
) : ConciergeException(message) {
    public companion object {
        /** The generic code of each status, used when a body is not the error envelope (wire contract, "Errors"). */
        private val GENERIC_CODES =
            mapOf(
                400 to "BAD_REQUEST",
                401 to "UNAUTHORIZED",
                403 to "FORBIDDEN",
                404 to "NOT_FOUND",
                409 to "CONFLICT",
                413 to "PAYLOAD_TOO_LARGE",
                422 to "UNPROCESSABLE_ENTITY",
                429 to "RATE_LIMITED",
                500 to "INTERNAL",
            )

        /** Builds the error for an answer: the one place a status picks a class. */
        internal fun from(
            status: Int,
            envelope: JsonObject?,
            headers: Headers,
            retryAfterMs: Long?,
        ): ApiException {
            // The envelope of docs/errors.md counts only with both its `code` and its `message`.
            val e = envelope?.takeIf { it.string("code") != null && it.string("message") != null }
            val code = e?.string("code") ?: GENERIC_CODES[status] ?: if (status >= 500) "INTERNAL" else "BAD_REQUEST"
            val message = e?.string("message") ?: "HTTP $status"
            val requestId = headers["x-request-id"] ?: e?.string("requestID")
            val retryable = e?.boolean("retryable") ?: (status == 429 || status >= 500)
            val field = e?.string("field")
            return when {
                status == 401 -> UnauthorizedException(code, message, requestId, retryable, field, headers)
                status == 403 -> ForbiddenException(code, message, requestId, retryable, field, headers)
                status == 404 -> NotFoundException(code, message, requestId, retryable, field, headers)
                status == 409 -> ConflictException(code, message, requestId, retryable, field, headers)
                status == 422 -> ValidationException(code, message, requestId, retryable, field, headers)
                status == 429 ->
                    RateLimitException(code, message, requestId, retryable, field, headers, retryAfterMs)
                status >= 500 -> ServerException(status, code, message, requestId, retryable, field, headers)
                else -> BadRequestException(status, code, message, requestId, retryable, field, headers)
            }
        }
    }
}

/** 400, 413 and any other 4xx without a class of its own. */
public class BadRequestException internal constructor(
    status: Int,
    code: String,
    message: String,
    requestId: String?,
    retryable: Boolean,
    field: String?,
    headers: Headers,
) : ApiException(status, code, message, requestId, retryable, field, headers)

/** 401: the credential is missing, invalid, expired or revoked (after the one refresh the SDK tries). */
public class UnauthorizedException internal constructor(
    code: String,
    message: String,
    requestId: String?,
    retryable: Boolean,
    field: String?,
    headers: Headers,
) : ApiException(401, code, message, requestId, retryable, field, headers)

/** 403. */
public class ForbiddenException internal constructor(
    code: String,
    message: String,
    requestId: String?,
    retryable: Boolean,
    field: String?,
    headers: Headers,
) : ApiException(403, code, message, requestId, retryable, field, headers)

/** 404: no such resource, or not the member's. */
public class NotFoundException internal constructor(
    code: String,
    message: String,
    requestId: String?,
    retryable: Boolean,
    field: String?,
    headers: Headers,
) : ApiException(404, code, message, requestId, retryable, field, headers)

/** 409, e.g. `IDEMPOTENCY_KEY_REUSED`; `IDEMPOTENCY_KEY_IN_USE` is retried before it gets here. */
public class ConflictException internal constructor(
    code: String,
    message: String,
    requestId: String?,
    retryable: Boolean,
    field: String?,
    headers: Headers,
) : ApiException(409, code, message, requestId, retryable, field, headers)

/** 422: a parameter is invalid; [field] names it. */
public class ValidationException internal constructor(
    code: String,
    message: String,
    requestId: String?,
    retryable: Boolean,
    field: String?,
    headers: Headers,
) : ApiException(422, code, message, requestId, retryable, field, headers)

/** 429, after the retries. */
public class RateLimitException internal constructor(
    code: String,
    message: String,
    requestId: String?,
    retryable: Boolean,
    field: String?,
    headers: Headers,
    /** How long the server asked to wait (`Retry-After`, clamped to 0..300 s); null when it did not say. */
    public val retryAfterMs: Long?,
) : ApiException(429, code, message, requestId, retryable, field, headers)

/** 5xx, after the retries. */
public class ServerException internal constructor(
    status: Int,
    code: String,
    message: String,
    requestId: String?,
    retryable: Boolean,
    field: String?,
    headers: Headers,
) : ApiException(status, code, message, requestId, retryable, field, headers)

/** The request got no answer: connection refused or reset, DNS, a body cut mid-way (after the retries). */
public class NetworkException internal constructor(
    message: String,
    cause: Throwable? = null,
) : ConciergeException(message, cause) {
    override val status: Int? get() = null
    override val code: String get() = "NETWORK_ERROR"
    override val requestId: String? get() = null
    override val retryable: Boolean get() = true
}

/** No answer within `timeoutMs` (on the last attempt: earlier ones were retried). */
public class RequestTimeoutException internal constructor(
    message: String,
    cause: Throwable? = null,
) : ConciergeException(message, cause) {
    override val status: Int? get() = null
    override val code: String get() = "TIMEOUT"
    override val requestId: String? get() = null
    override val retryable: Boolean get() = true
}

/** The refresh hook threw or returned no token; `cause` is what it threw. Never retried by the SDK. */
public class RefreshException internal constructor(
    message: String,
    cause: Throwable? = null,
) : ConciergeException(message, cause) {
    override val status: Int? get() = null
    override val code: String get() = "REFRESH_FAILED"
    override val requestId: String? get() = null
    override val retryable: Boolean get() = false
}

/**
 * [verifyWebhook] refused a delivery: answer it 400 and do not act on it. [reason] says which check failed
 * (`missing_header`, `invalid_timestamp`, `timestamp_too_old`, `timestamp_too_new`, `no_matching_signature` (also a
 * wrong secret), `invalid_payload`); [code] is the same in upper case.
 */
public class WebhookVerificationException internal constructor(
    public val reason: String,
    message: String,
) : ConciergeException(message) {
    override val status: Int? get() = null
    override val code: String get() = reason.uppercase()
    override val requestId: String? get() = null
    override val retryable: Boolean get() = false
}
