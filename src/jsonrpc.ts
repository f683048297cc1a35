import { ClientRequestSchema } from '@modelcontextprotocol/core';
import type { McpServer, Transport, TransportSendOptions, JSONRPCMessage, MessageExtraInfo } from '@modelcontextprotocol/server';
import { unknownEntry } from './catalog/unknown-name.js';
import { ProtocolErrorCode } from '@modelcontextprotocol/server';

type RequestSchema = (typeof ClientRequestSchema.options)[number];

/** The MCP schema of every request a client may send, by method. */
const REQUEST_SCHEMAS: ReadonlyMap<string, RequestSchema> = new Map(ClientRequestSchema.options.map((s) => [s.shape.method.value, s]));

const MAX_ISSUES = 5;

/** What requests are checked against before dispatch; the same for every server built by createServer. */
export interface RequestChecks {
  /**
   * The methods the server has handlers for, among those with an MCP request schema. A request to any other
   * method is left to the SDK, which answers -32601 Method not found whatever its params.
   */
  methods: ReadonlySet<string>;
  /** Names tools/call and prompts/get accept. */
  tools: readonly string[];
  prompts: readonly string[];
}

/** What the SDK keeps of a registered tool or prompt. */
export interface RegisteredEntry { title?: string; description?: string; enabled?: boolean }

/** The SDK's registries of tools and prompts (plain objects keyed by name; not part of its typed API). */
type Registries = { _registeredTools?: Record<string, RegisteredEntry>; _registeredPrompts?: Record<string, RegisteredEntry> };

/** The tools and prompts registered on a server, by name. Throws should an SDK upgrade move them. */
export function registered(server: McpServer): { tools: Record<string, RegisteredEntry>; prompts: Record<string, RegisteredEntry> } {
  const { _registeredTools: tools, _registeredPrompts: prompts } = server as unknown as Registries;
  if (!tools || !prompts) throw new Error('the MCP SDK no longer exposes _registeredTools/_registeredPrompts; tool and prompt names need another source');
  return { tools, prompts };
}

export function requestChecks(server: McpServer): RequestChecks {
  const methods = new Set<string>();
  for (const method of REQUEST_SCHEMAS.keys()) {
    try {
      server.server.assertCanSetRequestHandler(method);
    } catch {
      methods.add(method); // it throws exactly when a handler is registered
    }
  }
  // Fails at start rather than refusing every call, should an SDK upgrade move the registries.
  const { tools, prompts } = registered(server);
  return { methods, tools: Object.keys(tools), prompts: Object.keys(prompts) };
}

/**
 * Why a request's params do not fit its method's MCP schema (a short message naming each bad field), or
 * name a tool or prompt the server does not have, or null when they fit, when it is not a request, or when
 * its method is not in `checks.methods`. The SDK validates params too, but reports a mismatch as -32603
 * Internal error (and looks names up on a plain object, where `__proto__` is found); JSON-RPC 2.0 asks for
 * -32602 Invalid params.
 */
export function invalidParams(message: JSONRPCMessage, checks: RequestChecks): string | null {
  if (!('method' in message) || !('id' in message) || !checks.methods.has(message.method)) return null;
  const parsed = REQUEST_SCHEMAS.get(message.method)!.safeParse(message);
  if (parsed.success) {
    const request = parsed.data;
    if (request.method === 'tools/call' && !checks.tools.includes(request.params.name)) return unknownEntry('tool', request.params.name, checks.tools);
    if (request.method === 'prompts/get' && !checks.prompts.includes(request.params.name)) return unknownEntry('prompt', request.params.name, checks.prompts);
    return null;
  }
  const issues = parsed.error.issues;
  const listed = issues.slice(0, MAX_ISSUES).map((i) => {
    const path = i.path.map(String).join('.');
    return `${path || 'request'}: ${i.message}`;
  });
  if (issues.length > MAX_ISSUES) listed.push(`and ${issues.length - MAX_ISSUES} more`);
  return `Invalid params for ${message.method}: ${listed.join('; ')}`;
}

/** The -32602 answer to a request whose params do not fit. */
export function invalidParamsError(id: string | number, why: string): JSONRPCMessage {
  return { jsonrpc: '2.0', id, error: { code: ProtocolErrorCode.InvalidParams, message: why } };
}

/**
 * Wraps a transport so that requests with malformed params or unknown tool and prompt names are answered
 * -32602 Invalid params (for the same id) before they reach the server; everything else passes through
 * unchanged. Connect the server to the returned transport.
 */
export function withParamsCheck(inner: Transport, checks: RequestChecks): Transport {
  const outer: Transport = {
    start: async () => {
      inner.onmessage = (message: JSONRPCMessage, extra?: MessageExtraInfo) => {
        const why = invalidParams(message, checks);
        if (why === null) return outer.onmessage?.(message, extra);
        inner.send(invalidParamsError((message as { id: string | number }).id, why)).catch((err: Error) => outer.onerror?.(err));
      };
      inner.onclose = () => outer.onclose?.();
      inner.onerror = (err) => outer.onerror?.(err);
      await inner.start();
    },
    send: (message: JSONRPCMessage, options?: TransportSendOptions) => inner.send(message, options),
    close: () => inner.close(),
    get sessionId() {
      return inner.sessionId;
    },
  };
  if (inner.setProtocolVersion) outer.setProtocolVersion = (v: string) => inner.setProtocolVersion?.(v);
  return outer;
}
