import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Readable } from 'node:stream';
import { CLIENT_CAPABILITIES_META_KEY, CLIENT_INFO_META_KEY, createMcpHandler, isLegacyRequest, PROTOCOL_VERSION_META_KEY, type McpHttpHandler, type McpServer } from '@modelcontextprotocol/server';
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/server';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { JSONRPCMessageSchema } from '@modelcontextprotocol/core';
import { echo } from './catalog/delimit.js';
import type { CatalogHolder } from './catalog/holder.js';
import { isLoopbackHost, type HttpConfig } from './config.js';
import { MusicError } from './errors.js';
import { Exchange, ExchangeTransport } from './http-exchange.js';
import type { Logger } from './log.js';
import { ICONS } from './icons.js';
import { invalidParamsError } from './jsonrpc.js';
import { connectServer, createServer, PACKAGE, paramsProblem } from './server.js';
import type { SpotifyDeps } from '../tools/shared.js';

export interface HttpDeps extends SpotifyDeps {
  catalog: CatalogHolder;
  log: Logger;
  toolWaitMs: number;
  http: HttpConfig;
}

export interface RunningHttpServer {
  server: Server;
  url: string;
  /** Stop accepting, let calls in flight finish (up to graceMs), then close. */
  close(graceMs?: number): Promise<void>;
  /** Open connections, MCP servers waiting in the pool, and requests in progress. */
  stats(): { connections: number; idleServers: number; inFlight: number };
}

function jsonRpcError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}, code = -32000): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

/** Why a parsed body is not a JSON-RPC message (or a non-empty batch of them), with the id to answer; null when valid. */
function invalidMessage(body: unknown): { id: string | number | null; why: string } | null {
  if (Array.isArray(body) && body.length === 0) return { id: null, why: 'empty batch' };
  for (const m of Array.isArray(body) ? body : [body]) {
    if (!JSONRPCMessageSchema.safeParse(m).success) {
      const id = (m as { id?: unknown } | null)?.id;
      return {
        id: typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? id : null,
        why: 'not a JSON-RPC 2.0 request, notification or response',
      };
    }
  }
  return null;
}

/** Host header without port, lowercased; IPv6 keeps its brackets. */
function hostName(host: string | undefined): string {
  if (!host) return '';
  const lower = host.toLowerCase();
  if (lower.startsWith('[')) return lower.slice(0, lower.indexOf(']') + 1);
  return lower.split(':')[0]!;
}

function originAllowed(origin: string, cfg: HttpConfig): boolean {
  if (cfg.allowedOrigins.includes('*') || cfg.allowedOrigins.includes(origin)) return true;
  try {
    return isLoopbackHost(new URL(origin).hostname);
  } catch {
    return false;
  }
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const bearer = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!bearer) return false;
  const presented = Buffer.from(bearer[1]!.trim());
  const expected = Buffer.from(token);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) return 'too-large';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return 'too-large';
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const KEEPALIVE_MS = 15_000; // SSE comment on a stream quiet this long (the SDK's default)
/** Idle MCP servers kept for reuse; beyond this many, finished ones are closed. */
const MAX_IDLE_SERVERS = 256;

const isRequest = (m: JSONRPCMessage) => 'method' in m && 'id' in m;
const isInitialize = (m: JSONRPCMessage) => isRequest(m) && (m as { method: string }).method === 'initialize';
/**
 * Requests after which the MCP server keeps something of the client that sent them: initialize (its
 * capabilities and client info) and logging/setLevel (a level stored under the client's `mcp-session-id`
 * header, any value, so a pooled server would gather one entry per value sent). A server that served one
 * is closed afterwards, never pooled: nothing a client set reaches another client's calls.
 */
const CLIENT_STATE_METHODS = new Set(['initialize', 'logging/setLevel']);
const setsClientState = (m: JSONRPCMessage) => isRequest(m) && CLIENT_STATE_METHODS.has((m as { method: string }).method);

/** The first request id that a batch uses twice (ids of responses in it do not count), if any. */
function repeatedId(messages: JSONRPCMessage[]): string | number | undefined {
  const seen = new Set<string | number>();
  for (const m of messages) {
    if (!isRequest(m)) continue;
    const id = (m as { id: string | number }).id;
    if (seen.has(id)) return id;
    seen.add(id);
  }
  return undefined;
}

/** `application/json`, with or without parameters (charset), any case. */
function isJsonContentType(header: string | undefined): boolean {
  if (header === 'application/json') return true;
  return (header ?? '').split(';', 1)[0]!.trim().toLowerCase() === 'application/json';
}

/**
 * Whether a parsed POST body may be 2026-07-28 traffic: one message whose `_meta` carries the protocol
 * version claim, or a `server/discover`. Only those are handed to the SDK to classify; everything else is
 * 2025-era traffic and served by the pool below without building a web Request.
 */
function mayBeModern(body: unknown): boolean {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return false;
  const m = body as { method?: unknown; params?: { _meta?: Record<string, unknown> } };
  return m.method === 'server/discover' || (typeof m.params?._meta === 'object' && m.params._meta !== null && PROTOCOL_VERSION_META_KEY in m.params._meta);
}

/** A string of a refusal as this server repeats a client's value: control and invisible characters escaped, at most MAX_ECHO characters. */
const escaped = (value: string) => echo(value).slice(1, -1);

function escapeStrings(value: unknown): unknown {
  if (typeof value === 'string') return escaped(value);
  if (Array.isArray(value)) return value.map(escapeStrings);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeStrings(v)]));
  return value;
}

/**
 * A JSON-RPC error body the SDK's 2026-07-28 handler refused a POST with (unsupported version, headers
 * that disagree with the body), with every string escaped and capped: its messages and `data` quote the
 * request's version, name or URI whole, invisible characters included, where this server's own refusals
 * repeat at most MAX_ECHO characters, escaped (tests/http-hostile.test.ts).
 */
function safeRefusal(body: string): string {
  let parsed: { error?: unknown };
  try {
    parsed = JSON.parse(body) as { error?: unknown };
  } catch {
    return body;
  }
  if (!parsed || typeof parsed !== 'object' || !parsed.error) return body;
  return JSON.stringify({ ...parsed, error: escapeStrings(parsed.error) });
}

/** The POST as a web Request for the SDK's handler, aborted when the client goes away. */
function webRequest(req: IncomingMessage, raw: Buffer, signal: AbortSignal, reqId: string): Request {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
  headers.set('x-request-id', reqId);
  return new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/mcp'}`, { method: 'POST', headers, body: new Uint8Array(raw), signal });
}

/** Write the SDK handler's web Response (a JSON body or an SSE stream) to the Node response. */
async function sendWebResponse(response: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((v, k) => (headers[k] = v));
  if (response.body && isJsonContentType(headers['content-type'])) {
    // A JSON answer is complete once the handler has it: one write with Content-Length, no chunked framing.
    const whole = Buffer.from(await response.arrayBuffer());
    res.writeHead(response.status, { ...headers, 'content-length': String(whole.length) });
    return void res.end(whole);
  }
  res.writeHead(response.status, headers);
  if (!response.body) return void res.end();
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
  res.once('close', () => body.destroy());
  for await (const chunk of body) if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
  res.end();
}

/**
 * Where the Server Card is served: the MCP endpoint followed by /server-card, as the Server Card
 * extension's current draft (SEP-2127) places it, and the earlier well-known path discovery tools read.
 */
export const SERVER_CARD_PATHS = ['/mcp/server-card', '/.well-known/mcp/server-card.json'];

/** The Server Card: who this server is and where its Streamable HTTP endpoint is (no tool list: tools/list is the live source). */
function serverCard(endpoint: string): Record<string, unknown> {
  return {
    $schema: 'https://static.modelcontextprotocol.io/schemas/v1/server-card.schema.json',
    name: PACKAGE.mcpName ?? PACKAGE.name,
    title: 'Music catalog',
    description: PACKAGE.description,
    version: PACKAGE.version,
    icons: ICONS,
    remotes: [{ type: 'streamable-http', url: endpoint }],
  };
}

/** The server could not listen where it was told to. */
export class HttpListenError extends MusicError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('HTTP_LISTEN_FAILED', message, options);
  }
}

/** One line that names the setting to change, for the errors a person can fix; others keep their own message. */
function listenError(err: NodeJS.ErrnoException, cfg: HttpConfig): Error {
  const where = `${cfg.host}:${cfg.port}`;
  if (err.code === 'EADDRINUSE') {
    return new HttpListenError(`port ${cfg.port} is already in use on ${cfg.host} (MCP_HTTP_PORT=${cfg.port}): stop whatever holds it, or choose another port with MCP_HTTP_PORT`, { cause: err });
  }
  if (err.code === 'EACCES') {
    return new HttpListenError(`no permission to listen on ${where} (MCP_HTTP_PORT=${cfg.port}): ports below 1024 need privileges; choose another with MCP_HTTP_PORT`, { cause: err });
  }
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') {
    return new HttpListenError(`cannot listen on ${where}: ${cfg.host} is not an address of this machine (MCP_HTTP_HOST)`, { cause: err });
  }
  return new HttpListenError(`cannot listen on ${where}: ${err.message}`, { cause: err });
}

/** An open connection: requests in progress on it, and since when it has had none. */
interface Connection {
  busy: number;
  idleSince: number;
}

/**
 * At most `max` open connections. A new one beyond the cap closes the connection that has been idle longest
 * (one that sent nothing yet, half a header, or waits between keep-alive requests), so idle sockets cannot
 * lock real clients out; only when every connection has a request in progress is the new one refused.
 */
function capConnections(server: Server, max: number, log: Logger): Map<Socket, Connection> {
  const connections = new Map<Socket, Connection>();
  let warnedAt = 0;
  const warn = (msg: string) => {
    // Once a minute at most: a flood must not flood the log too.
    if (Date.now() - warnedAt < 60_000) return;
    warnedAt = Date.now();
    log.warn({ maxConnections: max }, msg);
  };
  server.on('connection', (socket: Socket) => {
    if (connections.size >= max) {
      let idlest: [Socket, Connection] | undefined;
      for (const entry of connections) if (entry[1].busy === 0 && (!idlest || entry[1].idleSince < idlest[1].idleSince)) idlest = entry;
      if (idlest) {
        warn('connection cap reached (MCP_MAX_CONNECTIONS): closing the longest-idle connections for new ones');
        connections.delete(idlest[0]);
        idlest[0].destroy();
      } else {
        warn('connection cap reached (MCP_MAX_CONNECTIONS) with a request in progress on every one: refusing new connections');
        const body = JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: `server busy: ${max} connections with requests in progress (MCP_MAX_CONNECTIONS); retry shortly` }, id: null });
        socket.end(`HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\nretry-after: 1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, () => socket.destroy());
        return;
      }
    }
    connections.set(socket, { busy: 0, idleSince: Date.now() });
    socket.once('close', () => connections.delete(socket));
  });
  return connections;
}

/** An MCP server over the shared catalog with its reusable transport; `slot.log` gives the logger of the POST it serves. */
interface PooledServer {
  transport: ExchangeTransport;
  cleanup: () => Promise<void>;
  slot: { log: () => Logger };
}

/** Node's HTTP server options from the settings: how long a header, and a whole request, may take to arrive. */
function nodeServerOptions(cfg: HttpConfig): { connectionsCheckingInterval: number; headersTimeout: number; requestTimeout: number } {
  return {
    // Checked on this period: a connection past a timeout is closed at most this much later.
    connectionsCheckingInterval: Math.min(1_000, Math.ceil(cfg.headersTimeoutMs / 2)),
    headersTimeout: cfg.headersTimeoutMs,
    // Receiving the whole request (header and body); Node requires it to be at least headersTimeout.
    requestTimeout: Math.max(cfg.requestTimeoutMs + 5_000, cfg.headersTimeoutMs),
  };
}

/** Listens where the settings say (a failure names the setting to change) and returns the MCP endpoint's URL. */
async function listen(server: Server, cfg: HttpConfig): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, cfg)));
    server.listen(cfg.port, cfg.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return `http://${shownHost}:${addr.port}/mcp`;
}

/** A 2026-07-28 request that may be served by a reused MCP server, and the logger of the POST it belongs to. */
interface ModernPost {
  /** Whether a pooled server may serve it: it names its client in full, so nothing of an earlier client stays. */
  reusable: boolean;
  log: () => Logger;
  served?: PooledModernServer;
}

/** An MCP server for 2026-07-28 requests, connected to nothing between requests; `slot.log` gives the logger of the POST it serves. */
interface PooledModernServer {
  server: McpServer;
  cleanup: () => Promise<void>;
  slot: { log: () => Logger };
}

/**
 * The MCP servers that serve 2026-07-28 POSTs through the SDK's per-request handler. The SDK asks its
 * factory for a server per request, connects it to a single-use transport and closes that transport
 * once the answer is out; building a server (every tool, resource and prompt, and the JSON Schema of a
 * called tool's input, which the SDK converts per server) cost more than many calls, so a server whose
 * request was answered goes back here and serves a later request. Only a request whose `_meta` names its
 * client's capabilities and info is served by a reused server: the SDK overwrites both for it, so an
 * earlier client's never remain. Whatever did not end in a complete answer (client gone, refused,
 * failed, timed out) is closed instead.
 */
class ModernServerPool {
  private readonly idle: PooledModernServer[] = [];
  private readonly posts = new WeakMap<Request, ModernPost>();

  constructor(private readonly deps: HttpDeps) {}

  /** Registers the web Request of a POST before it is handed to the SDK. */
  admit(request: Request, post: ModernPost): void {
    this.posts.set(request, post);
  }

  /** The SDK's factory: an idle server when the POST allows one, else a new one. */
  serverFor(request: Request | undefined): McpServer {
    const post = request ? this.posts.get(request) : undefined;
    const pooled = (post?.reusable ? this.idle.pop() : undefined) ?? this.build();
    pooled.slot.log = post?.log ?? (() => this.deps.log);
    if (post) post.served = pooled;
    return pooled.server;
  }

  /** After a POST: its server serves a later one when it answered in full and is connected to nothing; otherwise it is closed. */
  release(request: Request, clean: boolean, draining: boolean): void {
    const post = this.posts.get(request);
    this.posts.delete(request);
    const pooled = post?.served;
    if (!pooled) return;
    pooled.slot.log = () => this.deps.log;
    if (clean && post.reusable && !draining && pooled.server.server.transport === undefined && this.idle.length < MAX_IDLE_SERVERS) this.idle.push(pooled);
    else void pooled.cleanup().catch((err: Error) => this.deps.log.debug({ err: err.message }, 'MCP server close failed'));
  }

  async closeIdle(): Promise<void> {
    await Promise.all(this.idle.splice(0).map((p) => p.cleanup().catch(() => undefined)));
  }

  private build(): PooledModernServer {
    return serverWithLogSlot(this.deps);
  }
}

/** A new MCP server over the shared catalog, logging through `slot.log`: the logger of whichever POST it serves. */
function serverWithLogSlot(deps: HttpDeps): PooledModernServer {
  const slot = { log: () => deps.log };
  const { server, cleanup } = createServer({
    catalog: deps.catalog, toolWaitMs: deps.toolWaitMs,
    spotify: deps.spotify ?? null, spotifyTtlMs: deps.spotifyTtlMs, spotifyLiveTimeoutMs: deps.spotifyLiveTimeoutMs,
    get log() {
      return slot.log();
    },
  });
  return { server, cleanup, slot };
}

/** Whether a 2026-07-28 request's `_meta` names its client's capabilities and info (objects), which the SDK then writes over any earlier ones. */
function namesItsClient(body: unknown): boolean {
  const meta = (body as { params?: { _meta?: Record<string, unknown> } } | null)?.params?._meta;
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  return isObject(meta) && isObject(meta![CLIENT_CAPABILITIES_META_KEY]) && isObject(meta![CLIENT_INFO_META_KEY]);
}

/** The SDK's per-request handler for 2026-07-28 traffic, each request served by an MCP server of its own at the time, taken from `pool`. */
function modernHandler(deps: HttpDeps, pool: ModernServerPool): McpHttpHandler {
  return createMcpHandler(
    ({ requestInfo }) => pool.serverFor(requestInfo),
    { legacy: 'reject', onerror: (err) => deps.log.debug({ err: err.message }, '2026-07-28 request failed') },
  );
}

/** The request's id (the client's x-request-id, capped, or a new one), echoed in the response, and a logger carrying it. */
function requestContext(req: IncomingMessage, res: ServerResponse, baseLog: Logger): { reqId: string; log: () => Logger } {
  const reqId = (typeof req.headers['x-request-id'] === 'string' && req.headers['x-request-id'].slice(0, 100)) || randomUUID();
  res.setHeader('x-request-id', reqId);
  // Built on first use: most requests log nothing.
  let requestLog: Logger | undefined;
  return { reqId, log: () => (requestLog ??= baseLog.child({ reqId })) };
}

/** DNS-rebinding and cross-site protection: refuses a foreign Host (421) or a disallowed Origin (403); true when admitted. */
function admitHostAndOrigin(req: IncomingMessage, res: ServerResponse, cfg: HttpConfig, log: () => Logger): boolean {
  // Only our own host names.
  const host = hostName(req.headers.host);
  if (!isLoopbackHost(host) && !cfg.allowedHosts.includes(host) && !(cfg.host !== '0.0.0.0' && host === cfg.host.toLowerCase())) {
    log().warn({ host: req.headers.host }, 'rejected request for a foreign Host');
    jsonRpcError(res, 421, `Host ${echo(req.headers.host ?? '')} is not served here; add it to MCP_ALLOWED_HOSTS if it is yours`);
    return false;
  }
  const origin = req.headers.origin;
  if (origin && !originAllowed(origin, cfg)) {
    log().warn({ origin }, 'rejected request from a foreign Origin');
    jsonRpcError(res, 403, `Origin ${echo(origin)} is not allowed; add it to MCP_ALLOWED_ORIGINS to allow it`);
    return false;
  }
  return true;
}

/** GET /healthz: the catalog's state and this version (and, once ready, whether the name-resolution indexes built after load are in); 200 only when the catalog is ready and the server is not draining. */
function sendHealth(res: ServerResponse, catalog: CatalogHolder, draining: boolean): void {
  const state = catalog.current;
  const body =
    state.status === 'ready'
      ? { status: 'ready', version: PACKAGE.version, snapshot: state.catalog.version, tracks: state.catalog.size, indexes: state.catalog.indexesReady ? 'ready' : 'building' }
      : state.status === 'loading'
        ? { status: 'loading', version: PACKAGE.version, detail: state.detail }
        : { status: 'failed', version: PACKAGE.version, error: state.error };
  res.writeHead(state.status === 'ready' && !draining ? 200 : 503, { 'content-type': 'application/json' });
  res.end(JSON.stringify(draining ? { ...body, status: 'draining' } : body));
}

/** GET of a SERVER_CARD_PATHS path: the Server Card, naming the endpoint under the Host the client used. */
function sendServerCard(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=3600' });
  res.end(JSON.stringify(serverCard(`http://${req.headers.host ?? 'localhost'}/mcp`)));
}

/**
 * What /mcp asks before a body is read: the bearer token (401), POST (405), and what the Streamable HTTP
 * spec asks of a POST: it accepts both answer forms (406) and its body is JSON (415). True when admitted.
 */
function admitMcpPost(req: IncomingMessage, res: ServerResponse, cfg: HttpConfig, draining: boolean): boolean {
  if (cfg.authToken && !tokenMatches(req.headers.authorization, cfg.authToken)) {
    jsonRpcError(res, 401, 'missing or wrong bearer token (Authorization: Bearer <MCP_AUTH_TOKEN>)', { 'www-authenticate': 'Bearer' });
    return false;
  }
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    jsonRpcError(res, 405, 'this server is stateless: send JSON-RPC with POST /mcp (no GET stream, no sessions to DELETE)');
    return false;
  }
  if (draining) res.setHeader('connection', 'close');
  const accept = req.headers.accept ?? '';
  if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
    jsonRpcError(res, 406, 'Not Acceptable: Client must accept both application/json and text/event-stream');
    return false;
  }
  if (!isJsonContentType(req.headers['content-type'])) {
    jsonRpcError(res, 415, 'Unsupported Media Type: Content-Type must be application/json');
    return false;
  }
  return true;
}

/** The POST's body, read up to MCP_MAX_BODY_BYTES (413 beyond) and parsed (400 when not JSON); undefined when refused. */
async function readJsonBody(req: IncomingMessage, res: ServerResponse, cfg: HttpConfig): Promise<{ raw: Buffer; body: unknown } | undefined> {
  const raw = await readBody(req, cfg.maxBodyBytes);
  if (raw === 'too-large') {
    res.setHeader('connection', 'close');
    jsonRpcError(res, 413, `request body exceeds ${cfg.maxBodyBytes} bytes (MCP_MAX_BODY_BYTES)`);
    return undefined;
  }
  try {
    return { raw, body: JSON.parse(raw.toString('utf8')) };
  } catch {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error: body is not valid JSON' }, id: null }));
    return undefined;
  }
}

/** Writes a refusal from the SDK's handler (version, header checks): small, rewritten to quote the request as this server does. */
async function sendModernRefusal(response: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((v, k) => (headers[k] = v));
  delete headers['content-length'];
  res.writeHead(response.status, headers);
  res.end(safeRefusal(await response.text()));
}

/**
 * The messages of a 2025-era body, or undefined once it is refused whole (400, nothing of it runs): not
 * JSON-RPC, a batch over MCP_MAX_BATCH, a request id used twice, initialize in a batch, or an
 * MCP-Protocol-Version header this server does not speak.
 */
function batchMessages(req: IncomingMessage, res: ServerResponse, cfg: HttpConfig, body: unknown): JSONRPCMessage[] | undefined {
  const invalid = invalidMessage(body);
  if (invalid) {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', id: invalid.id, error: { code: -32600, message: `Invalid Request: ${invalid.why}` } }));
    return undefined;
  }
  const messages = (Array.isArray(body) ? body : [body]) as JSONRPCMessage[];
  if (messages.length > cfg.maxBatch) {
    jsonRpcError(res, 400, `Invalid Request: a batch holds at most ${cfg.maxBatch} messages (MCP_MAX_BATCH); this one has ${messages.length}: split it`, {}, -32600);
    return undefined;
  }
  const repeated = repeatedId(messages);
  if (repeated !== undefined) {
    // Answers are matched to requests by id: two requests with one id cannot both be answered (and the
    // MCP server tracks its handlers by id too).
    jsonRpcError(res, 400, `Invalid Request: the batch uses request id ${JSON.stringify(repeated).slice(0, 200)} more than once; give each request of a batch its own id`, {}, -32600);
    return undefined;
  }
  if (messages.some(isInitialize)) {
    if (messages.length > 1) {
      jsonRpcError(res, 400, 'Invalid Request: Only one initialization request is allowed', {}, -32600);
      return undefined;
    }
  } else {
    const version = req.headers['mcp-protocol-version'];
    if (version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(String(version))) {
      jsonRpcError(res, 400, `Bad Request: Unsupported protocol version: ${echo(String(version))} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`);
      return undefined;
    }
  }
  return messages;
}

/** The MCP servers that serve 2025-era POSTs, each connected to its reusable transport, and those idle for reuse. */
class ServerPool {
  private readonly idle: PooledServer[] = [];

  constructor(private readonly deps: HttpDeps) {}

  /** Servers waiting for a POST. */
  get idleCount(): number {
    return this.idle.length;
  }

  /** An idle server, if one waits. */
  takeIdle(): PooledServer | undefined {
    return this.idle.pop();
  }

  /** A new MCP server over the shared catalog, logging through the logger of whichever POST it serves. */
  async build(): Promise<PooledServer> {
    const { server, cleanup, slot } = serverWithLogSlot(this.deps);
    const transport = new ExchangeTransport();
    await connectServer(server, transport);
    return { transport, cleanup, slot };
  }

  /**
   * After a POST: a server with no handler in flight serves a later one; any other is closed (its handlers
   * still running are aborted, and whatever they log keeps the request id of the POST they served). The
   * count of handlers, not the POST's ids, decides: an answer still to come must never reach another POST.
   */
  release(pooled: PooledServer, exchange: Exchange, clean: boolean, draining: boolean): void {
    pooled.transport.detach(exchange);
    if (clean && pooled.transport.inFlight === 0 && !draining && this.idle.length < MAX_IDLE_SERVERS) {
      pooled.slot.log = () => this.deps.log;
      this.idle.push(pooled);
    } else {
      void pooled.cleanup().catch((err: Error) => this.deps.log.debug({ err: err.message }, 'MCP server close failed'));
    }
  }

  /** Closes every idle server. */
  async closeIdle(): Promise<void> {
    await Promise.all(this.idle.splice(0).map((p) => p.cleanup().catch(() => undefined)));
  }
}

/** The /mcp endpoint and its neighbours: routes each request, counts those in flight, and drains on close. */
class HttpEndpoint {
  readonly pool: ServerPool;
  /** Requests whose response is not finished yet. */
  inFlight = 0;
  private draining = false;
  private readonly cfg: HttpConfig;
  /** 2025-era POSTs being served by a pooled server. */
  private readonly open = new Set<Exchange>();
  // 2026-07-28 requests go to the SDK's per-request handler (server/discover, the `_meta` envelope, the
  // Mcp-Method/Mcp-Name headers, version errors, subscriptions/listen, cache hints); a publish reaches
  // open subscriptions/listen streams through its notifier.
  private readonly modern: McpHttpHandler;
  private readonly modernPool: ModernServerPool;
  private readonly onPublish = () => this.modern.notify.resourcesChanged();
  private readonly keepAlive: NodeJS.Timeout;

  constructor(private readonly deps: HttpDeps) {
    this.cfg = deps.http;
    this.pool = new ServerPool(deps);
    this.modernPool = new ModernServerPool(deps);
    this.modern = modernHandler(deps, this.modernPool);
    deps.catalog.on('changed', this.onPublish);
    this.keepAlive = setInterval(() => {
      const quietSince = Date.now() - KEEPALIVE_MS;
      for (const exchange of this.open) if (exchange.lastWriteAt <= quietSince) exchange.keepAlive();
    }, KEEPALIVE_MS / 3);
    this.keepAlive.unref();
  }

  /** Counts a request in flight (on its connection too) until its response is finished, and serves it; a failure answers 500. */
  accept(req: IncomingMessage, res: ServerResponse, connection: Connection | undefined): void {
    // A request is in flight until its response is finished (an SSE answer outlives handle()).
    this.inFlight++;
    if (connection) connection.busy++;
    res.once('close', () => {
      this.inFlight--;
      if (connection) {
        connection.busy--;
        connection.idleSince = Date.now();
      }
    });
    this.handle(req, res).catch((err: Error) => {
      this.deps.log.error({ err: err.message }, 'HTTP request failed');
      jsonRpcError(res, 500, 'internal error');
    });
  }

  /** Routes one request: Host/Origin checks, then health, the Server Card, or /mcp (admission, body, 2026-07-28 or 2025-era serving). */
  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { reqId, log } = requestContext(req, res, this.deps.log);
    const path = (req.url ?? '/').split('?')[0];
    if (!admitHostAndOrigin(req, res, this.cfg, log)) return;
    if (path === '/healthz' && req.method === 'GET') return sendHealth(res, this.deps.catalog, this.draining);
    if (SERVER_CARD_PATHS.includes(path ?? '') && req.method === 'GET') return sendServerCard(req, res);
    if (path !== '/mcp') return jsonRpcError(res, 404, 'not found: the MCP endpoint is /mcp');
    if (!admitMcpPost(req, res, this.cfg, this.draining)) return;

    const parsed = await readJsonBody(req, res, this.cfg);
    if (!parsed) return;
    if (mayBeModern(parsed.body) && (await this.serveModern(req, res, parsed.raw, parsed.body, reqId, log))) return;

    const messages = batchMessages(req, res, this.cfg, parsed.body);
    if (!messages) return;
    // Only notifications or responses: accepted. A stateless server has no session they could act on
    // (no request of ours awaits a client's answer; a cancellation names a request of another POST).
    if (!messages.some(isRequest)) {
      res.writeHead(202);
      res.end();
      return;
    }
    await this.servePooled(req, res, messages, log);
  }

  /** Serves a POST the SDK classifies as 2026-07-28 traffic through its handler; false when it is 2025-era after all. */
  private async serveModern(req: IncomingMessage, res: ServerResponse, raw: Buffer, body: unknown, reqId: string, log: () => Logger): Promise<boolean> {
    const aborted = new AbortController();
    res.once('close', () => aborted.abort());
    const request = webRequest(req, raw, aborted.signal, reqId);
    // Classified from the parsed body: the SDK reads nothing of the request's own (no clone needed).
    if (await isLegacyRequest(request, body)) return false;
    // The SDK checks params too, but answers some mistakes -32603 or without naming what to fix: the
    // same checks as the 2025-era path (src/jsonrpc.ts) answer first, in the form the SDK answers -32602.
    const message = JSONRPCMessageSchema.safeParse(body);
    const why = message.success ? paramsProblem(message.data, this.deps) : null;
    if (why !== null) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(invalidParamsError((message.data as { id: string | number }).id, why)));
      return true;
    }
    const method = (body as { method?: unknown }).method;
    this.modernPool.admit(request, { reusable: namesItsClient(body) && !CLIENT_STATE_METHODS.has(String(method)), log });
    const timer = setTimeout(() => aborted.abort(), this.cfg.requestTimeoutMs);
    let answered = false;
    try {
      const response = await this.modern.fetch(request, { parsedBody: body });
      if (response.status >= 400 && isJsonContentType(response.headers.get('content-type') ?? undefined)) {
        await sendModernRefusal(response, res);
      } else {
        await sendWebResponse(response, res);
        answered = response.status === 200 && !aborted.signal.aborted && res.writableEnded && !res.destroyed;
      }
      return true;
    } finally {
      clearTimeout(timer);
      this.modernPool.release(request, answered, this.draining);
    }
  }

  /** Serves 2025-era messages on a pooled MCP server, within MCP_REQUEST_TIMEOUT_MS (504 beyond), and releases the server after. */
  private async servePooled(req: IncomingMessage, res: ServerResponse, messages: JSONRPCMessage[], log: () => Logger): Promise<void> {
    const keepsClientState = messages.some(setsClientState);
    const pooled = this.pool.takeIdle() ?? (await this.pool.build());
    pooled.slot.log = log;
    const exchange = new Exchange(req, res, (finished, clean) => {
      this.open.delete(finished);
      clearTimeout(timer);
      this.pool.release(pooled, finished, clean && !keepsClientState, this.draining);
    });
    const timer = setTimeout(() => {
      if (!exchange.open) return;
      log().warn({ ms: this.cfg.requestTimeoutMs }, 'request timed out');
      exchange.abort();
      jsonRpcError(res, 504, `request took longer than ${this.cfg.requestTimeoutMs} ms (MCP_REQUEST_TIMEOUT_MS)`);
      res.end();
    }, this.cfg.requestTimeoutMs);
    res.once('close', () => exchange.abort());
    this.open.add(exchange);
    // A client that went away while its body was read: nothing to serve.
    if (res.destroyed || req.socket.destroyed) return exchange.abort();
    await exchange.start(pooled.transport, messages);
  }

  /**
   * Fails health checks, answers everything that reaches the server (requests already on the wire included),
   * closes it once nothing has been in flight for a short quiet period or the grace time is up, then frees
   * what the endpoint holds.
   */
  async close(server: Server, graceMs: number): Promise<void> {
    this.draining = true;
    const deadline = Date.now() + graceMs;
    let quietSince = 0;
    while (Date.now() < deadline) {
      if (this.inFlight > 0) quietSince = 0;
      else if (!quietSince) quietSince = Date.now();
      else if (Date.now() - quietSince >= 250) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
    clearInterval(this.keepAlive);
    this.deps.catalog.off('changed', this.onPublish);
    await this.modern.close();
    await this.modernPool.closeIdle();
    for (const exchange of this.open) exchange.abort();
    await this.pool.closeIdle();
  }
}

/**
 * Stateless Streamable HTTP: no sessions, so any POST can go to any replica or worker. Each POST is served
 * by an MCP server of its own for as long as it runs, so JSON-RPC ids, progress notifications and
 * cancellations of different clients never meet; but servers are not built per request (that, and the
 * SDK's single-use web-standard transport, cost more than most tool calls): a server that answered its
 * POST goes back to a pool and serves a later one through the same ExchangeTransport
 * (src/http-exchange.ts). A server that stored something of its client (an initialize's capabilities and
 * client info, a logging level) is closed after that POST instead of pooled (CLIENT_STATE_METHODS).
 * 2026-07-28 POSTs go through the SDK's per-request handler, which is handed servers from a pool of
 * their own (ModernServerPool).
 */
export async function startHttpServer(deps: HttpDeps): Promise<RunningHttpServer> {
  const endpoint = new HttpEndpoint(deps);
  const server = createHttpServer(nodeServerOptions(deps.http), (req, res) => endpoint.accept(req, res, connections.get(req.socket)));
  server.keepAliveTimeout = deps.http.keepAliveTimeoutMs;
  const connections = capConnections(server, deps.http.maxConnections, deps.log);
  const url = await listen(server, deps.http);
  return {
    server,
    url,
    stats: () => ({ connections: connections.size, idleServers: endpoint.pool.idleCount, inFlight: endpoint.inFlight }),
    close: (graceMs = 10_000) => endpoint.close(server, graceMs),
  };
}
