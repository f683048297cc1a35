/**
 * The Spotify HTTP core: one GET with throttle, bearer token, retries and validation.
 *
 * - Every request goes through one Throttle (rate cap in any 1-second window + concurrency cap);
 *   a 429 pauses all of them for its Retry-After; a quota 429 fails fast for its Retry-After.
 * - 5xx, connection resets and timeouts retry with capped exponential backoff and full jitter.
 * - A refused token is renewed once; a fresh token refused too is a SpotifyAuthError.
 * - Every 2xx body is validated; a malformed one is a SpotifyResponseError naming the endpoint.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request, type Dispatcher } from 'undici';
import type { z } from 'zod';
import { quote } from '../catalog/delimit.js';
import type { Logger } from '../log.js';
import { backoffMs, parseRetryAfter, TokenProvider } from './auth.js';
import {
  SpotifyAbortedError,
  SpotifyAuthError,
  SpotifyError,
  SpotifyHttpError,
  SpotifyQuotaExceededError,
  SpotifyRateLimitedError,
  SpotifyResponseError,
  SpotifyUnavailableError,
} from './errors.js';
import { describeIssues, ErrorBodySchema, spotifyErrorText } from './schemas.js';
import { Throttle } from './throttle.js';
import { SPOTIFY_DEFAULTS, type SpotifyClientOptions } from './types.js';

export type Query = Record<string, string | number | undefined>;

/** The options the retry machine reads, defaults applied. */
type RetrySettings = Required<
  Pick<
    SpotifyClientOptions,
    'timeoutMs' | 'maxRetries' | 'retryBaseMs' | 'retryMaxDelayMs' | 'defaultRetryAfterMs' | 'maxRetryAfterMs'
  >
>;

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** What one call has been through so far. */
interface CallState {
  failures: number;
  rateLimited: number;
  renewed: boolean;
}

class AttemptTimeoutError extends Error {
  override readonly name = 'AttemptTimeoutError';
}

export class SpotifyTransport {
  private readonly auth: TokenProvider;
  private readonly throttle: Throttle;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly apiBaseUrl: string;
  private readonly settings: RetrySettings;
  private quotaBlockedUntil = 0;
  /** Set by a 429 whose Retry-After exceeds maxRetryAfterMs: calls fail fast until then. */
  private rateBlockedUntil = 0;

  constructor(
    options: SpotifyClientOptions,
    private readonly log: Logger,
  ) {
    const defaults = SPOTIFY_DEFAULTS;
    this.apiBaseUrl = (options.apiBaseUrl ?? defaults.apiBaseUrl).replace(/\/+$/, '');
    const concurrency = options.concurrency ?? defaults.concurrency;
    this.settings = {
      timeoutMs: options.timeoutMs ?? defaults.timeoutMs,
      maxRetries: options.maxRetries ?? defaults.maxRetries,
      retryBaseMs: options.retryBaseMs ?? defaults.retryBaseMs,
      retryMaxDelayMs: options.retryMaxDelayMs ?? defaults.retryMaxDelayMs,
      defaultRetryAfterMs: options.defaultRetryAfterMs ?? defaults.defaultRetryAfterMs,
      maxRetryAfterMs: options.maxRetryAfterMs ?? defaults.maxRetryAfterMs,
    };
    this.ownsDispatcher = !options.dispatcher;
    this.dispatcher =
      options.dispatcher ??
      new Agent({ connections: concurrency + 2, keepAliveTimeout: 10_000, connectTimeout: this.settings.timeoutMs });
    this.throttle = new Throttle({
      maxRps: options.maxRps ?? defaults.maxRps,
      concurrency,
      ...(options.windowMarginMs !== undefined ? { marginMs: options.windowMarginMs } : {}),
    });
    this.auth = new TokenProvider({
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      accountsUrl: options.accountsUrl ?? defaults.accountsUrl,
      dispatcher: this.dispatcher,
      log: this.log,
      ...this.settings,
    });
  }

  /** Tokens obtained so far. */
  get tokenRenewals(): number {
    return this.auth.renewals;
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  /** GET with throttle, token, retries and validation. Throws only SpotifyError subclasses. */
  async get<S extends z.ZodType>(
    endpoint: string,
    path: string,
    query: Query,
    schema: S,
    signal: AbortSignal | undefined,
  ): Promise<z.infer<S>> {
    const url = new URL(this.apiBaseUrl + path);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
    const href = url.toString();
    const state: CallState = { failures: 0, rateLimited: 0, renewed: false };
    for (;;) {
      if (signal?.aborted) throw new SpotifyAbortedError(endpoint, { cause: signal.reason });
      this.checkQuota(endpoint);
      const token = await this.auth.getToken(signal).catch((err: unknown) => {
        throw this.asSpotifyError(endpoint, err, signal);
      });
      const res = await this.exchange(endpoint, href, token, signal, state);
      if (res === null) continue;
      if (res.status >= 200 && res.status < 300) return this.validate(endpoint, res.text, schema);
      await this.answerRefusal(endpoint, res, token, signal, state);
    }
  }

  /** One throttled attempt; a network failure or timeout backs off and returns null (retry), or gives up. */
  private async exchange(
    endpoint: string,
    href: string,
    token: string,
    signal: AbortSignal | undefined,
    state: CallState,
  ): Promise<RawResponse | null> {
    const started = performance.now();
    try {
      const res = await this.throttle.run(() => this.attempt(endpoint, href, token, signal), signal);
      this.log.debug({ endpoint, status: res.status, ms: Math.round(performance.now() - started) }, 'spotify response');
      return res;
    } catch (err) {
      if (signal?.aborted) throw new SpotifyAbortedError(endpoint, { cause: signal.reason });
      if (err instanceof SpotifyError) throw err;
      state.failures += 1;
      const message = this.auth.scrub((err as Error)?.message ?? String(err));
      if (state.failures > this.settings.maxRetries) {
        throw new SpotifyUnavailableError(endpoint, state.failures, { cause: new Error(message) });
      }
      this.log.warn({ endpoint, attempt: state.failures, err: message }, 'spotify request failed; retrying');
      await this.backoff(endpoint, state.failures, signal);
      return null;
    }
  }

  /** A non-2xx answer: returns when the call should be tried again, throws when it should not. */
  private async answerRefusal(
    endpoint: string,
    res: RawResponse,
    token: string,
    signal: AbortSignal | undefined,
    state: CallState,
  ): Promise<void> {
    const { status } = res;
    const said = this.said(res.text);
    if (status === 401 || (status === 400 && /bearer/i.test(said ?? ''))) {
      this.renewRefusedToken(endpoint, status, said, token, state);
      return;
    }
    if (status === 429) {
      this.waitOutRateLimit(endpoint, res, state);
      return;
    }
    if (status >= 500) {
      state.failures += 1;
      if (state.failures > this.settings.maxRetries) {
        throw new SpotifyUnavailableError(endpoint, state.failures, { cause: new Error(`HTTP ${status}${said ? `: ${quote(said)}` : ''}`) });
      }
      this.log.warn({ endpoint, status, attempt: state.failures, said }, 'spotify server error; retrying');
      await this.backoff(endpoint, state.failures, signal);
      return;
    }
    throw new SpotifyHttpError(endpoint, status, said);
  }

  /**
   * 401, or a 400 "Only valid bearer authentication supported": the token is not accepted. Renew it
   * once; a freshly issued token refused too means the app itself is refused.
   */
  private renewRefusedToken(endpoint: string, status: number, said: string | null, token: string, state: CallState): void {
    if (state.renewed) {
      throw new SpotifyAuthError(
        `Spotify ${endpoint} refused a freshly issued token (${status}${said ? `: ${quote(said)}` : ''}); check that the Spotify app behind SPOTIFY_CLIENT_ID is active`,
        status,
      );
    }
    state.renewed = true;
    this.auth.invalidate(token);
    this.log.info({ endpoint, status, said }, 'spotify token not accepted; renewing once');
  }

  /** A 429: a quota one fails fast until it resets; a plain one pauses every request for its Retry-After. */
  private waitOutRateLimit(endpoint: string, res: RawResponse, state: CallState): void {
    const body = parseErrorBody(res.text);
    const retryAfterMs = parseRetryAfter(res.headers['retry-after']) ?? this.settings.defaultRetryAfterMs;
    if (body?.error.reason === 'QUOTA_EXCEEDED') {
      this.quotaBlockedUntil = Math.max(this.quotaBlockedUntil, performance.now() + retryAfterMs);
      this.log.error({ endpoint, retryAfterMs }, 'spotify quota exceeded; failing fast until it resets');
      throw new SpotifyQuotaExceededError(endpoint, retryAfterMs);
    }
    state.rateLimited += 1;
    if (retryAfterMs > this.settings.maxRetryAfterMs) {
      // Too long to hold callers: fail fast (every call) until Spotify lets us back in.
      this.rateBlockedUntil = Math.max(this.rateBlockedUntil, performance.now() + retryAfterMs);
      this.log.error({ endpoint, retryAfterMs }, 'spotify asked for a pause longer than maxRetryAfterMs; failing fast');
      throw new SpotifyRateLimitedError(endpoint, retryAfterMs);
    }
    this.throttle.pauseFor(retryAfterMs);
    if (state.rateLimited > this.settings.maxRetries) throw new SpotifyRateLimitedError(endpoint, retryAfterMs);
    this.log.warn({ endpoint, retryAfterMs }, 'spotify rate limited (429); pausing all requests');
  }

  /** What an error answer said, secrets removed, bounded (null when it said nothing). */
  private said(text: string): string | null {
    const message = spotifyErrorText(text);
    return message ? this.auth.scrub(message).slice(0, 200) : null;
  }

  /** One HTTP exchange: checks the quota block at send time, times out, reads the whole body. */
  private async attempt(endpoint: string, href: string, token: string, signal: AbortSignal | undefined): Promise<RawResponse> {
    this.checkQuota(endpoint);
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new AttemptTimeoutError(`no complete answer within ${this.settings.timeoutMs} ms`)),
      this.settings.timeoutMs,
    );
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await request(href, {
        method: 'GET',
        dispatcher: this.dispatcher,
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        signal: controller.signal,
      });
      const text = await res.body.text();
      return { status: res.statusCode, headers: res.headers, text };
    } catch (err) {
      if (controller.signal.reason instanceof AttemptTimeoutError && !signal?.aborted) throw controller.signal.reason;
      throw err;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private validate<S extends z.ZodType>(endpoint: string, text: string, schema: S): z.infer<S> {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      this.log.warn({ endpoint }, 'spotify answered a body that is not JSON');
      throw new SpotifyResponseError(endpoint, ['body is not valid JSON'], { cause });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issues = describeIssues(parsed.error);
      this.log.warn({ endpoint, issues: issues.slice(0, 5) }, 'spotify answered an unexpected shape');
      throw new SpotifyResponseError(endpoint, issues);
    }
    return parsed.data;
  }

  private checkQuota(endpoint: string): void {
    const now = performance.now();
    const left = this.quotaBlockedUntil - now;
    if (left > 0) throw new SpotifyQuotaExceededError(endpoint, Math.ceil(left));
    const blocked = this.rateBlockedUntil - now;
    if (blocked > 0) throw new SpotifyRateLimitedError(endpoint, Math.ceil(blocked));
  }

  private async backoff(endpoint: string, attempt: number, signal: AbortSignal | undefined): Promise<void> {
    const ms = backoffMs(attempt, this.settings.retryBaseMs, this.settings.retryMaxDelayMs);
    try {
      await sleep(ms, undefined, signal ? { signal } : undefined);
    } catch {
      throw new SpotifyAbortedError(endpoint, { cause: signal?.reason });
    }
  }

  private asSpotifyError(endpoint: string, err: unknown, signal: AbortSignal | undefined): SpotifyError {
    if (err instanceof SpotifyError) return err;
    if (signal?.aborted) return new SpotifyAbortedError(endpoint, { cause: signal.reason });
    return new SpotifyUnavailableError(endpoint, 1, { cause: new Error(this.auth.scrub(String((err as Error)?.message ?? err))) });
  }
}

function parseErrorBody(text: string): z.infer<typeof ErrorBodySchema> | null {
  try {
    const parsed = ErrorBodySchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
