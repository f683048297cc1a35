/**
 * Spotify client errors: one subclass per way a call can fail, each with a stable `code` and the
 * context a caller needs to decide what to do (retry later, fall back, fix credentials).
 * Messages never contain the client secret or an access token.
 */
import { quote } from '../catalog/delimit.js';
import { MusicError } from '../errors.js';

/** Base of every error the Spotify client throws. */
export class SpotifyError extends MusicError {}

/**
 * The token endpoint refused the client credentials, the API refused a freshly issued token, or the
 * token endpoint answered something we cannot use. `retryable` is false when the credentials (or the
 * app) are the problem: only fixing SPOTIFY_CLIENT_ID / SPOTIFY_CLIENT_SECRET helps.
 */
export class SpotifyAuthError extends SpotifyError {
  readonly retryable: boolean;
  constructor(
    message: string,
    readonly status: number | null,
    options?: { cause?: unknown; retryable?: boolean },
  ) {
    super('SPOTIFY_AUTH_FAILED', message, options);
    this.retryable = options?.retryable ?? false;
  }
}

/** A non-retryable HTTP error answer from the Web API (400, 403, 404, ...). */
export class SpotifyHttpError extends SpotifyError {
  constructor(
    readonly endpoint: string,
    readonly status: number,
    /** What Spotify's answer said (ErrorObject message, or the text of another shape), secrets removed. */
    readonly apiMessage: string | null,
    options?: { cause?: unknown },
  ) {
    super(
      status === 404 ? 'SPOTIFY_NOT_FOUND' : 'SPOTIFY_HTTP_ERROR',
      `Spotify ${endpoint} answered ${status}${apiMessage ? `: ${quote(apiMessage)}` : ''}`,
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

/**
 * A run of consecutive failures of one kind (same error code and status): the API is down or
 * answering garbage, so further calls would only add load. Raised by enrichment, not by single calls.
 * A run of client errors (4xx other than 408 and 429: every call refused, e.g. 403 for an app without
 * access to the endpoint, or 404 everywhere from a wrong base URL) is not cured by waiting:
 * `retryable` is false and the message names what to check.
 */
export class SpotifyCircuitOpenError extends SpotifyError {
  /** Whether a later rerun can succeed without a change of settings. */
  readonly retryable: boolean;
  constructor(
    /** The failure kind, e.g. `SPOTIFY_UNAVAILABLE` or `SPOTIFY_HTTP_ERROR 403`. */
    readonly kind: string,
    readonly failures: number,
    /** The last failure's message (already free of secrets). */
    readonly lastMessage: string,
    /** The HTTP status every failure of the run carried, when they came from answers. */
    readonly status: number | null = null,
  ) {
    const refused = status !== null && status >= 400 && status < 500 && status !== 408 && status !== 429;
    super(
      'SPOTIFY_CIRCUIT_OPEN',
      `stopped after ${failures} consecutive failures of one kind (${kind}; last: ${lastMessage})` +
        (refused
          ? status === 403
            ? ' — Spotify refuses this app every call of that kind; waiting will not change it: check the' +
              " app's access in the Spotify developer dashboard (development-mode apps are denied some" +
              ' endpoints) and SPOTIFY_API_BASE_URL'
            : ` — every call was answered ${status}; waiting will not change it: check SPOTIFY_API_BASE_URL and the app's settings`
          : '') +
        ' (the limit is SPOTIFY_CIRCUIT_BREAKER_FAILURES)',
    );
    this.retryable = !refused;
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
