import process from 'node:process';
import type { Readable, Writable } from 'node:stream';
import { JSONRPCMessageSchema } from '@modelcontextprotocol/core';
import type { Transport, JSONRPCMessage } from '@modelcontextprotocol/server';

/** Longest line accepted on stdin; longer ones are discarded (and answered) without ending the session. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

/** Requests handed to the server and not yet answered (or cancelled); more wait their turn. */
export const MAX_IN_FLIGHT = 64;

/** Waiting requests (at most MAX_IN_FLIGHT of them) above this size stop the reading of stdin too. */
const MAX_HELD_BYTES = 4 * 1024 * 1024;

type Id = string | number | null;

/**
 * Newline-delimited JSON-RPC over stdin/stdout, like the SDK's StdioServerTransport, but strict about
 * bad input the way JSON-RPC 2.0 asks: a line that is not JSON gets -32700 (id null), valid JSON that is
 * not a JSON-RPC message gets -32600 (with its id when it has one), an over-long line is dropped with
 * -32600, and the session goes on. Stdout carries nothing but protocol messages.
 *
 * Flow control: at most `maxInFlight` requests are handed to the server at a time; later ones wait in
 * arrival order (a `notifications/cancelled` frees its request's slot, or drops it while it waits).
 * Stdin is not read while as many requests wait, or while stdout is backed up (a client that does not
 * read its answers); reading resumes when an answer is sent, a request is cancelled or stdout drains.
 * So a client that pipelines without reading fills its own pipe instead of this process's memory.
 * When stdout fails (the client closed it: EPIPE), `onoutputclosed` is called once and later sends
 * are dropped.
 */
export class StrictStdioServerTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  onoutputclosed?: (error: NodeJS.ErrnoException) => void;

  private chunks: Buffer[] = [];
  private size = 0;
  private discarding = false;
  private started = false;
  private closed = false;
  private outputError: NodeJS.ErrnoException | null = null;
  /** Unprocessed input, oldest first; `offset` is how far into backlog[0] lines were taken. */
  private backlog: Buffer[] = [];
  private offset = 0;
  /** Requests read and not yet answered, by JSON of their id (a client may reuse an id). */
  private readonly inFlight = new Map<string, number>();
  private inFlightCount = 0;
  /** Answers sent so far: how a caller waiting for the backlog to drain sees progress. */
  answersSent = 0;
  /** Requests read while `maxInFlight` were unanswered, oldest first, with their size on the wire. */
  private held: { message: JSONRPCMessage; bytes: number }[] = [];
  private heldBytes = 0;
  /** A request was handed to the server in this turn of the event loop (see nextTurn). */
  private startedThisTurn = false;
  private turnScheduled = false;
  private lastLineBytes = 0;
  /** Sends waiting for stdout to drain. */
  private drainWaiters: (() => void)[] = [];
  private settledWaiters: (() => void)[] = [];

  constructor(
    private readonly stdin: Readable = process.stdin,
    private readonly stdout: Writable = process.stdout,
    private readonly maxLineBytes = MAX_LINE_BYTES,
    private readonly maxInFlight = MAX_IN_FLIGHT,
  ) {}

  private readonly onData = (chunk: Buffer) => {
    this.backlog.push(chunk);
    this.pump();
  };

  private readonly onError = (error: Error) => this.onerror?.(error);

  private readonly onDrain = () => {
    this.wakeDrainWaiters();
    this.pump();
  };

  private readonly onOutputError = (error: NodeJS.ErrnoException) => {
    if (this.outputError) return;
    this.outputError = error;
    this.backlog = [];
    this.stdin.pause();
    this.wakeDrainWaiters();
    this.checkSettled();
    this.onoutputclosed?.(error);
  };

  async start(): Promise<void> {
    if (this.started) throw new Error('StrictStdioServerTransport already started');
    this.started = true;
    this.stdin.on('data', this.onData);
    this.stdin.on('error', this.onError);
    this.stdout.on('drain', this.onDrain);
    this.stdout.on('error', this.onOutputError);
  }

  /** Stdin waits while as many requests are held as may be in flight, or while the answers are not being read. */
  private blocked(): boolean {
    return this.held.length >= this.maxInFlight || this.heldBytes >= MAX_HELD_BYTES || this.outputBackedUp();
  }

  private outputBackedUp(): boolean {
    return this.stdout.writableNeedDrain || this.outputError !== null;
  }

  /** Take lines from the backlog until it is empty or input must wait; pause or resume stdin to match. */
  private pump(): void {
    if (this.closed) return;
    this.release();
    while (this.backlog.length && !this.blocked()) {
      const chunk = this.backlog[0]!;
      const nl = chunk.indexOf(10, this.offset);
      if (nl === -1) {
        this.push(chunk.subarray(this.offset));
        this.backlog.shift();
        this.offset = 0;
        continue;
      }
      this.push(chunk.subarray(this.offset, nl));
      this.offset = nl + 1;
      if (this.offset >= chunk.length) {
        this.backlog.shift();
        this.offset = 0;
      }
      this.endLine();
    }
    this.checkSettled();
    if (this.closed || this.outputError) return;
    if (this.backlog.length || this.blocked()) this.stdin.pause();
    else this.stdin.resume();
  }

  private push(part: Buffer): void {
    if (this.discarding || part.length === 0) return;
    if (this.size + part.length > this.maxLineBytes) {
      this.chunks = [];
      this.size = 0;
      this.discarding = true;
      return;
    }
    this.chunks.push(part);
    this.size += part.length;
  }

  private endLine(): void {
    if (this.discarding) {
      this.discarding = false;
      this.reply(null, -32600, `Invalid Request: message longer than ${this.maxLineBytes} bytes was discarded`);
      return;
    }
    const line = Buffer.concat(this.chunks, this.size).toString('utf8').replace(/\r$/, '');
    this.lastLineBytes = this.size;
    this.chunks = [];
    this.size = 0;
    if (!line.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.reply(null, -32700, 'Parse error: the line is not valid JSON');
      return;
    }
    if (Array.isArray(value)) {
      this.reply(null, -32600, 'Invalid Request: batches are not supported; send one JSON-RPC message per line');
      return;
    }
    const parsed = JSONRPCMessageSchema.safeParse(value);
    if (!parsed.success) {
      const id = (value as { id?: unknown } | null)?.id;
      const usable: Id = typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? id : null;
      this.reply(usable, -32600, 'Invalid Request: not a JSON-RPC 2.0 request, notification or response');
      return;
    }
    this.accept(parsed.data, this.lastLineBytes);
  }

  /**
   * Hand a message to the server, or hold a request while `maxInFlight` are unanswered. A cancellation
   * frees its request's slot (the server sends no answer then) or drops the request if still held.
   */
  private accept(message: JSONRPCMessage, bytes: number): void {
    if ('method' in message && 'id' in message) {
      if (this.inFlightCount >= this.maxInFlight || this.held.length || this.startedThisTurn) {
        this.held.push({ message, bytes });
        this.heldBytes += bytes;
        this.nextTurn();
        return;
      }
      this.startedThisTurn = true;
      this.nextTurn();
      this.adjust(message.id, +1);
    } else if ('method' in message && message.method === 'notifications/cancelled') {
      const id = (message.params as { requestId?: unknown } | undefined)?.requestId;
      const at = this.held.findIndex((h) => 'id' in h.message && h.message.id === id);
      if (at !== -1) {
        this.heldBytes -= this.held.splice(at, 1)[0]!.bytes;
        return;
      }
      if (typeof id === 'string' || typeof id === 'number') this.adjust(id, -1);
    }
    this.deliver(message);
    this.release();
  }

  private deliver(message: JSONRPCMessage): void {
    try {
      this.onmessage?.(message);
    } catch (error) {
      this.onerror?.(error as Error);
    }
  }

  /** Start held requests while there are free slots and the answers are being read. */
  private release(): void {
    if (this.held.length && !this.startedThisTurn && this.inFlightCount < this.maxInFlight && !this.outputBackedUp()) {
      const { message, bytes } = this.held.shift()!;
      this.heldBytes -= bytes;
      this.startedThisTurn = true;
      this.nextTurn();
      this.adjust((message as { id: string | number }).id, +1);
      this.deliver(message);
    }
  }

  /**
   * Once a request was handed to the server in this turn of the event loop, the next one waits for the
   * next turn: a handler's synchronous work runs in the turn it is handed over, so 64 requests read in one
   * chunk would otherwise hold the loop for all 64 calls at once.
   */
  private nextTurn(): void {
    if (this.turnScheduled || this.closed) return;
    this.turnScheduled = true;
    setImmediate(() => {
      this.turnScheduled = false;
      this.startedThisTurn = false;
      this.pump();
    });
  }

  private adjust(id: string | number, by: 1 | -1): void {
    const key = JSON.stringify(id);
    const n = this.inFlight.get(key) ?? 0;
    if (by < 0 && n === 0) return;
    if (n + by === 0) this.inFlight.delete(key);
    else this.inFlight.set(key, n + by);
    this.inFlightCount += by;
  }

  private reply(id: Id, code: number, message: string): void {
    this.write(`${JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } })}\n`);
  }

  private write(line: string): boolean {
    if (this.outputError || this.stdout.destroyed) return true;
    return this.stdout.write(line);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stdin.off('data', this.onData);
    this.stdin.off('error', this.onError);
    this.stdout.off('drain', this.onDrain);
    if (this.stdin.listenerCount('data') === 0) this.stdin.pause();
    this.chunks = [];
    this.backlog = [];
    this.held = [];
    this.heldBytes = 0;
    this.wakeDrainWaiters();
    this.checkSettled();
    this.onclose?.();
  }

  send(message: JSONRPCMessage): Promise<void> {
    const answered = !('method' in message) && 'id' in message ? message.id : undefined;
    const flushed = this.write(`${JSON.stringify(message)}\n`);
    if (answered !== undefined && answered !== null) {
      this.answersSent += 1;
      this.adjust(answered, -1);
      // Sent from a handler: take further input on the next turn, not inside the handler's call.
      setImmediate(() => this.pump());
    }
    if (flushed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private wakeDrainWaiters(): void {
    for (const w of this.drainWaiters.splice(0)) w();
  }

  /** Resolves once every request read from stdin has been answered (or cancelled), or output is gone. */
  settled(): Promise<void> {
    return new Promise((resolve) => {
      this.settledWaiters.push(resolve);
      this.checkSettled();
    });
  }

  private checkSettled(): void {
    const settled = this.closed || this.outputError !== null || (this.inFlightCount === 0 && !this.held.length && !this.backlog.length);
    if (settled) for (const w of this.settledWaiters.splice(0)) w();
  }
}
