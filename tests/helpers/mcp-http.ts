/** A JSON-RPC message as the tests read it from an HTTP answer. */
export type Message = {
  jsonrpc?: string;
  id?: unknown;
  method?: string;
  params?: any;
  result?: any;
  error?: { code: number; message: string; data?: unknown };
};

/** The messages of an HTTP answer: SSE (`data: {...}` lines) or a JSON message or batch. */
export async function messagesOf(res: Response): Promise<Message[]> {
  const text = await res.text();
  if (!text) return [];
  if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    return text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as Message);
  }
  const body = JSON.parse(text) as Message | Message[];
  return Array.isArray(body) ? body : [body];
}
