/**
 * Request throttle: a concurrency cap (p-limit) and a rate cap that holds in EVERY window of
 * `windowMs` as the server sees it — a sliding log, not a token bucket (which would let 2x the cap
 * through across a window boundary). A pause (429 Retry-After) stops every send, queued or new,
 * until it ends.
 *
 * Why the log holds completion times: the server counts arrivals, and an arrival can lag our send
 * by a cold connection, network queueing or a busy server. The only time we know to be after the
 * arrival is when the answer is complete. So a request counts against the window from the moment
 * it is granted until `windowMs` after it completed, and a new send is granted only while fewer
 * than `maxRps` requests are in flight or completed within the last `windowMs`. That guarantees at
 * most `maxRps` arrivals in any window (proof: take the last-granted request k of a window; every
 * other request of that window arrived after `grant_k - windowMs`, so it was still counted at
 * `grant_k`). The cost is throughput `maxRps * windowMs / (windowMs + latency)` when saturated.
 *
 * Order matters: a task first takes a concurrency slot, then a rate slot, then sends at once.
 */
import { performance } from 'node:perf_hooks';
import pLimit, { type LimitFunction } from 'p-limit';
import { raceAbort } from '../abort.js';

export interface ThrottleOptions {
  /** Requests allowed to arrive in any window of `windowMs`. */
  maxRps: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Window length (default 1000 ms). */
  windowMs?: number;
  /** Extra spacing added to the window (default 0 ms). */
  marginMs?: number;
}

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

const abortReason = (signal: AbortSignal): unknown =>
  signal.reason ?? new DOMException('This operation was aborted', 'AbortError');

export class Throttle {
  readonly maxRps: number;
  readonly concurrency: number;
  private readonly spanMs: number;
  private readonly limit: LimitFunction;
  /** Requests granted and not yet complete. */
  private inFlight = 0;
  /** Completion times (monotonic ms) of the latest completed requests, ascending, at most `maxRps`. */
  private done: number[] = [];
  private readonly waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pausedUntil = 0;

  constructor(options: ThrottleOptions) {
    if (!(options.maxRps >= 1)) throw new RangeError('maxRps must be at least 1');
    if (!(options.concurrency >= 1)) throw new RangeError('concurrency must be at least 1');
    this.maxRps = Math.floor(options.maxRps);
    this.concurrency = Math.floor(options.concurrency);
    this.spanMs = (options.windowMs ?? 1000) + (options.marginMs ?? 0);
    this.limit = pLimit(this.concurrency);
  }

  /**
   * Run `send` (one complete request: send and read the answer) under both caps. Rejects with the
   * signal's reason if it aborts while waiting (the queued slot is given up; a send already started
   * is the callee's to abort).
   */
  async run<T>(send: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw abortReason(signal);
    const task = this.limit(async () => {
      if (signal?.aborted) throw abortReason(signal);
      await this.acquire(signal);
      try {
        return await send();
      } finally {
        this.complete();
      }
    });
    if (!signal) return task;
    // Reject promptly on abort even while still queued in p-limit (the queued task then exits at once).
    return raceAbort(task, signal, abortReason);
  }

  /** Stop every send for `ms` from now (extends, never shortens, a pause already running). */
  pauseFor(ms: number): void {
    const until = performance.now() + Math.max(0, ms);
    if (until <= this.pausedUntil) return;
    this.pausedUntil = until;
    this.reschedule();
  }

  /** Milliseconds left of the current pause (0 when not paused). */
  pauseRemainingMs(): number {
    return Math.max(0, this.pausedUntil - performance.now());
  }

  /** Requests waiting for a rate slot (not counting those waiting for a concurrency slot). */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Requests waiting for a concurrency slot. */
  get queued(): number {
    return this.limit.pendingCount;
  }

  private acquire(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, onAbort: undefined };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
      this.pump();
    });
  }

  private complete(): void {
    this.inFlight -= 1;
    this.done.push(performance.now());
    if (this.done.length > this.maxRps) this.done.shift();
    this.reschedule();
  }

  /**
   * Earliest monotonic time at which the next send is allowed; Infinity when only a completion can
   * free a slot (complete() pumps again).
   */
  private nextSlotAt(now: number): number {
    let at = Math.max(now, this.pausedUntil);
    const free = this.maxRps - this.inFlight;
    if (free <= 0) return Infinity;
    // Completions still inside the window, oldest first; the send may go once fewer than `free` remain.
    const recent = this.done.filter((t) => t > at - this.spanMs);
    if (recent.length >= free) at = Math.max(at, recent[recent.length - free]! + this.spanMs);
    return at;
  }

  private reschedule(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.pump();
  }

  private pump(): void {
    if (this.timer) return;
    while (this.waiters.length > 0) {
      const now = performance.now();
      const at = this.nextSlotAt(now);
      if (at === Infinity) return;
      if (at > now) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, Math.max(1, Math.ceil(at - now)));
        return;
      }
      const waiter = this.waiters.shift()!;
      this.inFlight += 1;
      if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
      waiter.resolve();
    }
  }
}
