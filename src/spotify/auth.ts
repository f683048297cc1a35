/**
 * Client-credentials tokens: `POST accounts/api/token` with `Authorization: Basic base64(id:secret)`
 * and the form body `grant_type=client_credentials`. The token is cached and renewed shortly before
 * it expires; one renewal is in flight at a time and every concurrent caller shares it. A 429 from
 * the token endpoint is waited out for its Retry-After (and fails fast while a long one runs).
 * The secret and tokens never reach a log line or an error message.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';
import { raceAbort } from '../abort.js';
import { quote } from '../catalog/delimit.js';
import type { Logger } from '../log.js';
import { SpotifyAbortedError, SpotifyAuthError, SpotifyRateLimitedError, SpotifyUnavailableError } from './errors.js';
import { spotifyErrorText, TokenResponseSchema } from './schemas.js';

export interface TokenProviderOptions {
  clientId: string;
  clientSecret: string;
  accountsUrl: string;
  dispatcher: Dispatcher;
  log: Logger;
  timeoutMs: number;
  maxRetries: number;
  retryBaseMs: number;
  retryMaxDelayMs: number;
  /** Wait when a 429 has no Retry-After. */
  defaultRetryAfterMs: number;
  /** Longest Retry-After waited out; longer ones fail fast with SpotifyRateLimitedError until they end. */
  maxRetryAfterMs: number;
  /** Renew this long before expiry (default 60 s; at most half the token's lifetime). */
  renewBeforeMs?: number;
}

/** The token endpoint's answer, read whole. */
interface TokenAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

interface CachedToken {
  value: string;
  /** Monotonic ms after which we renew. */
  renewAt: number;
}

const ENDPOINT = 'POST /api/token';

export class TokenProvider {
  private cached: CachedToken | undefined;
  private inflight: Promise<string> | undefined;
  /** Monotonic ms until which a token-endpoint 429 forbids asking again. */
  private blockedUntil = 0;
  private readonly basic: string;
  /** How many tokens were obtained (observability and tests). */
  renewals = 0;

  constructor(private readonly options: TokenProviderOptions) {
    this.basic = Buffer.from(`${options.clientId}:${options.clientSecret}`, 'utf8').toString('base64');
  }

  /** A valid token: the cached one, the renewal already in flight, or a new one. */
  async getToken(signal?: AbortSignal): Promise<string> {
    const cached = this.cached;
    if (cached && performance.now() < cached.renewAt) return cached.value;
    this.checkBlocked();
    // Shared renewal: it is not tied to one caller's signal (another caller may still want it).
    this.inflight ??= this.fetchToken().finally(() => {
      this.inflight = undefined;
    });
    return signal
      ? raceAbort(this.inflight, signal, (aborted) => new SpotifyAbortedError(ENDPOINT, { cause: aborted.reason }))
      : this.inflight;
  }

  /** Drop `token` after a 401 so the next getToken renews (no-op if it was already replaced). */
  invalidate(token: string): void {
    if (this.cached?.value === token) this.cached = undefined;
  }

  /** Remove the secret and any token from a string that may end up in a message. */
  scrub(text: string): string {
    let out = text;
    for (const s of [this.options.clientSecret, this.basic, this.cached?.value]) {
      if (s && s.length >= 4) out = out.split(s).join('[redacted]');
    }
    return out;
  }

  private async fetchToken(): Promise<string> {
    const { log, maxRetries } = this.options;
    const attempts = { failures: 0, rateLimited: 0 };
    for (;;) {
      this.checkBlocked();
      const started = performance.now();
      let answer: TokenAnswer;
      try {
        answer = await this.requestToken();
      } catch (cause) {
        attempts.failures += 1;
        const message = this.scrub((cause as Error).message ?? String(cause));
        if (attempts.failures > maxRetries) {
          throw new SpotifyUnavailableError(ENDPOINT, attempts.failures, { cause: new Error(message) });
        }
        log.warn({ endpoint: ENDPOINT, attempt: attempts.failures, err: message }, 'spotify token request failed; retrying');
        await sleep(backoffMs(attempts.failures, this.options.retryBaseMs, this.options.retryMaxDelayMs));
        continue;
      }
      const { status } = answer;
      if (status >= 200 && status < 300) return this.acceptToken(answer, started);
      const detail = spotifyErrorText(answer.text);
      const said = detail ? this.scrub(detail) : null;
      if (status === 429) {
        await this.waitOutRateLimit(answer, attempts);
        continue;
      }
      if (status >= 500) {
        attempts.failures += 1;
        if (attempts.failures > maxRetries) {
          throw new SpotifyUnavailableError(ENDPOINT, attempts.failures, { cause: new Error(`HTTP ${status}${said ? `: ${quote(said)}` : ''}`) });
        }
        log.warn({ endpoint: ENDPOINT, status, attempt: attempts.failures, said }, 'spotify token endpoint unavailable; retrying');
        await sleep(backoffMs(attempts.failures, this.options.retryBaseMs, this.options.retryMaxDelayMs));
        continue;
      }
      // 400 invalid_client & co: the credentials are wrong; retrying will not help.
      const message = this.scrub(
        `Spotify refused the client credentials (${status}${said ? `: ${quote(said)}` : ''}); check SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET`,
      );
      log.error({ endpoint: ENDPOINT, status }, 'spotify token request refused');
      throw new SpotifyAuthError(message, status);
    }
  }

  /** One client-credentials POST, read whole; throws on a network failure or timeout. */
  private async requestToken(): Promise<TokenAnswer> {
    const res = await request(this.options.accountsUrl, {
      method: 'POST',
      dispatcher: this.options.dispatcher,
      headers: {
        authorization: `Basic ${this.basic}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: 'grant_type=client_credentials',
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  }

  /** A 2xx answer: the token it carries, cached until shortly before it expires. */
  private acceptToken({ status, text }: TokenAnswer, started: number): string {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new SpotifyAuthError('the Spotify token endpoint returned a body that is not JSON', status, { retryable: true });
    }
    const parsed = TokenResponseSchema.safeParse(json);
    if (!parsed.success) {
      throw new SpotifyAuthError(
        'the Spotify token endpoint returned an unexpected body (no access_token / expires_in)',
        status,
        { retryable: true },
      );
    }
    const lifetimeMs = parsed.data.expires_in * 1000;
    const before = Math.min(this.options.renewBeforeMs ?? 60_000, lifetimeMs / 2);
    this.cached = { value: parsed.data.access_token, renewAt: started + lifetimeMs - before };
    this.renewals += 1;
    this.options.log.debug({ endpoint: ENDPOINT, expiresInS: parsed.data.expires_in, ms: Math.round(performance.now() - started) }, 'spotify token obtained');
    return parsed.data.access_token;
  }

  /**
   * A 429: honour Retry-After like the API does; past the longest wait (or after maxRetries 429s),
   * every token request fails fast until the pause is over instead of asking again.
   */
  private async waitOutRateLimit(answer: TokenAnswer, attempts: { rateLimited: number }): Promise<void> {
    const { log, maxRetries } = this.options;
    attempts.rateLimited += 1;
    const retryAfterMs = parseRetryAfter(answer.headers['retry-after']) ?? this.options.defaultRetryAfterMs;
    if (retryAfterMs > this.options.maxRetryAfterMs || attempts.rateLimited > maxRetries) {
      this.blockedUntil = Math.max(this.blockedUntil, performance.now() + retryAfterMs);
      log.error({ endpoint: ENDPOINT, retryAfterMs, attempts: attempts.rateLimited }, 'spotify token endpoint rate limited; failing fast until the pause is over');
      throw new SpotifyRateLimitedError(ENDPOINT, retryAfterMs);
    }
    log.warn({ endpoint: ENDPOINT, retryAfterMs, attempt: attempts.rateLimited }, 'spotify token endpoint rate limited (429); waiting Retry-After');
    await sleep(retryAfterMs);
  }

  /** Fail fast while a token-endpoint 429 pause is running. */
  private checkBlocked(): void {
    const left = this.blockedUntil - performance.now();
    if (left > 0) throw new SpotifyRateLimitedError(ENDPOINT, Math.ceil(left));
  }
}

/** Retry-After in ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(v)) return Math.round(Number(v) * 1000);
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - Date.now());
}

/** Full-jitter exponential backoff: uniform in [0, min(max, base * 2^(attempt-1))]. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(Math.random() * ceiling);
}
