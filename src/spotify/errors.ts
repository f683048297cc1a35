/**
 * Spotify client errors: one subclass per way a call can fail, each with a stable `code` and the
 * context a caller needs to decide what to do (retry later, fall back, fix credentials).
 * Messages never contain the client secret or an access token.
 */
import { MusicError } from '../errors.js';

/** Base of every error the Spotify client throws. */
export class SpotifyError extends MusicError {}

/** The token endpoint refused the client credentials (or answered something we cannot use). */
export class SpotifyAuthError extends SpotifyError {
  constructor(
    message: string,
    readonly status: number | null,
    options?: { cause?: unknown },
  ) {
    super('SPOTIFY_AUTH_FAILED', message, options);
  }
}

/** A non-retryable HTTP error answer from the Web API (400, 403, 404, ...). */
export class SpotifyHttpError extends SpotifyError {
  constructor(
    readonly endpoint: string,
    readonly status: number,
    /** `error.message` of Spotify's ErrorObject, when the body had one. */
    readonly apiMessage: string | null,
    options?: { cause?: unknown },
  ) {
    super(
      status === 404 ? 'SPOTIFY_NOT_FOUND' : 'SPOTIFY_HTTP_ERROR',
      `Spotify ${endpoint} answered ${status}${apiMessage ? `: ${apiMessage}` : ''}`,
      options,
    );
  }
}

/** 429 answers kept coming (or asked for a pause longer than the client is allowed to wait). */
export class SpotifyRateLimitedError extends SpotifyError {
  constructor(
    readonly endpoint: string,
    readonly retryAfterMs: number,
  ) {
    super(
      'SPOTIFY_RATE_LIMITED',
      `Spotify ${endpoint} is rate limited; retry after ${Math.ceil(retryAfterMs / 1000)} s`,
    );
  }
}

/** A 429 with `reason: "QUOTA_EXCEEDED"`: the app's quota is spent; retrying now will not help. */
export class SpotifyQuotaExceededError extends SpotifyError {
  constructor(
    readonly endpoint: string,
    readonly retryAfterMs: number,
  ) {
    super(
      'SPOTIFY_QUOTA_EXCEEDED',
      `Spotify quota exceeded (at ${endpoint}); no more requests for ${Math.ceil(retryAfterMs / 1000)} s` +
        ' (lower SPOTIFY_MAX_RPS or ask Spotify for extended quota)',
    );
  }
}

/** A 2xx answer whose body is not JSON or not the documented shape. */
export class SpotifyResponseError extends SpotifyError {
  constructor(
    readonly endpoint: string,
    readonly issues: string[],
    options?: { cause?: unknown },
  ) {
    super(
      'SPOTIFY_BAD_RESPONSE',
      `Spotify ${endpoint} returned a malformed body: ${issues.slice(0, 3).join('; ')}`,
      options,
    );
  }
}

/** 5xx answers, connection resets or timeouts on every allowed attempt. */
export class SpotifyUnavailableError extends SpotifyError {
  constructor(
    readonly endpoint: string,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    const reason = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super('SPOTIFY_UNAVAILABLE', `Spotify ${endpoint} failed after ${attempts} attempts${reason}`, options);
  }
}

/** The caller's AbortSignal fired. */
export class SpotifyAbortedError extends SpotifyError {
  constructor(
    readonly endpoint: string,
    options?: { cause?: unknown },
  ) {
    super('SPOTIFY_ABORTED', `Spotify ${endpoint} call aborted`, options);
  }
}
