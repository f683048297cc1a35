import { join } from 'node:path';
import { expect, inject, it } from 'vitest';
import { CatalogHolder } from '../src/catalog/holder.js';
import { silentLogger } from '../src/log.js';
import { connectInMemory } from '../scripts/lib/memory-client.js';

// A call that arrives while the first build runs waits for it; with a progressToken the client hears
// why it waits (MCP progress notifications) and then gets the answer.
it('a tool call that waits for the first build reports progress, then answers', async () => {
  const holder = new CatalogHolder(join(inject('builtDataDir'), 'snapshots'), silentLogger);
  expect(holder.current.status).toBe('loading');
  const { client, close } = await connectInMemory(holder, 'progress-test', { toolWaitMs: 20_000 });
  const progress: { progress: number; message?: string }[] = [];
  try {
    const answer = client.callTool({ name: 'tracks_by_artist', arguments: { artist: 'queen', limit: 2 } }, { onprogress: (p) => progress.push(p), timeout: 30_000 });
    // The build finishes 1.5 s later: the call hears about it at once and about once a second meanwhile.
    setTimeout(() => void holder.load(), 1_500);
    const r = (await answer) as { isError?: boolean; content: { text?: string }[] };
    expect(r.isError).toBeFalsy();
    expect(r.content[0]?.text).toMatch(/«Queen»/);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.map((p) => p.progress)).toEqual(progress.map((_, i) => i + 1));
    expect(progress[0]!.message).toMatch(/being built/);
  } finally {
    await close();
    holder.close();
  }
}, 60_000);

it('without a progressToken the call just waits and answers', async () => {
  const holder = new CatalogHolder(join(inject('builtDataDir'), 'snapshots'), silentLogger);
  const { client, close } = await connectInMemory(holder, 'progress-test', { toolWaitMs: 20_000 });
  try {
    setTimeout(() => void holder.load(), 500);
    const r = (await client.callTool({ name: 'tracks_by_artist', arguments: { artist: 'queen', limit: 2 } })) as { isError?: boolean };
    expect(r.isError).toBeFalsy();
  } finally {
    await close();
    holder.close();
  }
}, 60_000);
