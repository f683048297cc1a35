import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ClientRequestSchema, ErrorCode, type JSONRPCMessage, type MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';

type RequestSchema = (typeof ClientRequestSchema.options)[number];

/** The MCP schema of every request a client may send, by method. */
const REQUEST_SCHEMAS: ReadonlyMap<string, RequestSchema> = new Map(ClientRequestSchema.options.map((s) => [s.shape.method.value, s]));

const MAX_ISSUES = 5;

/**
 * The methods a server has handlers for, among those with an MCP request schema. A request to any other
 * method is left to the SDK, which answers -32601 Method not found whatever its params.
 */
export function checkedMethods(server: McpServer): ReadonlySet<string> {
  const handled = new Set<string>();
  for (const method of REQUEST_SCHEMAS.keys()) {
    try {
      server.server.assertCanSetRequestHandler(method);
    } catch {
      handled.add(method); // it throws exactly when a handler is registered
    }
  }
  return handled;
}

/**
 * Why a request's params do not fit its method's MCP schema (a short message naming each bad field), or
 * null when they fit, when it is not a request, or when its method is not in `methods`. The SDK validates
 * params too, but reports a mismatch as -32603 Internal error; JSON-RPC 2.0 asks for -32602 Invalid params.
 */
export function invalidParams(message: JSONRPCMessage, methods: ReadonlySet<string>): string | null {
  if (!('method' in message) || !('id' in message) || !methods.has(message.method)) return null;
  const parsed = REQUEST_SCHEMAS.get(message.method)!.safeParse(message);
  if (parsed.success) return null;
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
  return { jsonrpc: '2.0', id, error: { code: ErrorCode.InvalidParams, message: why } };
}

/**
 * Wraps a transport so that requests with malformed params are answered -32602 Invalid params (for the
 * same id) before they reach the server; everything else passes through unchanged. Connect the server to
 * the returned transport.
 */
export function withParamsCheck(inner: Transport, methods: ReadonlySet<string>): Transport {
  const outer: Transport = {
    start: async () => {
      inner.onmessage = (message: JSONRPCMessage, extra?: MessageExtraInfo) => {
        const why = invalidParams(message, methods);
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
