import type { IncomingMessage, ServerResponse } from 'node:http';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Transport, TransportSendOptions, JSONRPCMessage, MessageExtraInfo, RequestId } from '@modelcontextprotocol/server';

/** Headers of an SSE answer, as the SDK's Streamable HTTP transport sends them. */
const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
} as const;

const isRequest = (m: JSONRPCMessage): m is JSONRPCMessage & { id: RequestId; method: string } => 'method' in m && 'id' in m;
const isResponse = (m: JSONRPCMessage): m is JSONRPCMessage & { id: RequestId } => ('result' in m || 'error' in m) && 'id' in m;

const sseEvent = (message: JSONRPCMessage) => `event: message\ndata: ${JSON.stringify(message)}\n\n`;

/**
 * One POST /mcp that carries at least one request: its messages go to an MCP server, and its answers
 * (plus the notifications that server relates to those requests, such as progress) come back on this
 * POST's response as one SSE stream, which ends once every request is answered. Answers to requests
 * from other POSTs never land here: each exchange is served by a server that serves no other at the time.
 */
export class Exchange {
  /** Requests of this POST still waiting for their answer. */
  private readonly pending = new Set<RequestId>();
  private state: 'open' | 'done' | 'aborted' = 'open';
  /** When something was last written (SSE keep-alive comments go out after a quiet stretch). */
  lastWriteAt = Date.now();

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    private readonly onEnd: (exchange: Exchange, clean: boolean) => void,
  ) {}

  get open(): boolean {
    return this.state === 'open';
  }

  /**
   * Hand this POST's messages to a server through its transport, in order. Between two messages the
   * event loop gets a turn (a handler that answers at once has answered by then), so a long batch shares
   * the process with other clients, health checks and timers instead of holding it until its end.
   */
  async start(transport: ExchangeTransport, messages: JSONRPCMessage[]): Promise<void> {
    for (const m of messages) if (isRequest(m)) this.pending.add(m.id);
    transport.attach(this);
    for (const [i, m] of messages.entries()) {
      if (i > 0) await nextTurn();
      // Answered, aborted, or timed out meanwhile: the rest is not this server's to run any more.
      if (!this.open) return;
      transport.receive(m);
    }
  }

  /**
   * A message from the server: an answer to one of this POST's requests, or a notification or request
   * related to one. Anything else (no related request of this POST) has nowhere to go in a stateless server
   * and is dropped, as the SDK's stateless transport drops it.
   */
  deliver(message: JSONRPCMessage, relatedRequestId?: RequestId): void {
    if (!this.open) return;
    if (isResponse(message)) {
      if (!this.pending.delete(message.id)) return;
      this.write(sseEvent(message), this.pending.size === 0);
      if (this.pending.size === 0) this.end(true);
      return;
    }
    if (relatedRequestId !== undefined && this.pending.has(relatedRequestId)) this.write(sseEvent(message), false);
  }

  /** An SSE comment so that proxies and clients keep a long-running call's stream open. */
  keepAlive(): void {
    if (this.open) this.write(': keepalive\n\n', false);
  }

  /**
   * Stop without answering what is still waiting: the client went away, the request timed out or the
   * server is closing. Whoever ends it closes the server that served it, which aborts those handlers.
   */
  abort(): void {
    if (this.open) this.end(false);
  }

  private write(chunk: string, last: boolean): void {
    const res = this.res;
    this.lastWriteAt = Date.now();
    if (res.writableEnded || res.destroyed) return;
    if (!res.headersSent) {
      // The whole answer in one write when it is ready at once (the common case): no chunked framing.
      if (last) {
        const body = Buffer.from(chunk);
        res.writeHead(200, { ...SSE_HEADERS, 'content-length': body.length });
        res.end(body);
        return;
      }
      res.writeHead(200, SSE_HEADERS);
    }
    if (last) res.end(chunk);
    else res.write(chunk);
  }

  private end(clean: boolean): void {
    this.state = clean ? 'done' : 'aborted';
    this.onEnd(this, clean);
  }
}

/**
 * A Transport for an MCP server that answers stateless Streamable HTTP POSTs, one exchange at a time,
 * and can be reused for the next one (the SDK's stateless transport serves a single request and is then
 * spent). There are no sessions and no standalone GET stream: messages that relate to no request of the
 * current POST are dropped.
 */
export class ExchangeTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;

  private exchange: Exchange | null = null;
  private closed = false;
  private handling = 0;

  async start(): Promise<void> {}

  /** Make `exchange` the one this transport answers. */
  attach(exchange: Exchange): void {
    this.exchange = exchange;
  }

  /** Pass one of the current exchange's messages to the server. */
  receive(message: JSONRPCMessage): void {
    if (isRequest(message)) this.handling++;
    try {
      this.onmessage?.(message);
    } catch (err) {
      this.onerror?.(err as Error);
    }
  }

  /** Forget the exchange once it has ended. */
  detach(exchange: Exchange): void {
    if (this.exchange === exchange) this.exchange = null;
  }

  /**
   * Requests handed to the server and not answered yet, counted (not by id: two requests may share one).
   * A server with any is still working for the exchange that sent them and must not serve another.
   */
  get inFlight(): number {
    return this.handling;
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    // Counted before delivery: the last answer ends the exchange, which may hand this server to another.
    if (isResponse(message) && this.handling > 0) this.handling--;
    this.exchange?.deliver(message, options?.relatedRequestId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.exchange?.abort();
    this.exchange = null;
    this.onclose?.();
  }
}
