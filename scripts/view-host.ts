// Drives the playlist view in a real Chromium (Debian's /usr/bin/chromium through playwright-core):
// a minimal host page (ui/test-host/host.ts, the ext-apps AppBridge) shows the view the server serves,
// and answers the view's tool calls and resource reads with a real MCP client of the server. Used by
// tests/app-view.test.ts and scripts/view-screenshots.ts.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import type { CallToolRequest, ReadResourceRequest, Tool } from '@modelcontextprotocol/client';
import { build } from 'esbuild';
import { chromium, type Browser, type FrameLocator, type Page } from 'playwright-core';
import { PLAYLIST_VIEW_FILE, PLAYLIST_VIEW_URI } from '../src/app/playlist-view.js';
import { PROJECT_ROOT } from '../src/paths.js';

export const CHROMIUM = '/usr/bin/chromium';

export interface ViewCall {
  name: string;
  arguments: Record<string, unknown>;
}

export type ToolAnswer = { isError?: boolean; content: { type: string; text?: string }[]; structuredContent?: Record<string, any> };

export interface ViewHost {
  page: Page;
  /** Tool calls the view made through the bridge, in order. */
  calls: ViewCall[];
  /** Console errors and CSP violations seen in the host page or the view. */
  problems: string[];
  view(): FrameLocator;
  /** Call `tool` as a host would and show its result in the view; resolves once the view has rendered it (or shown its error). */
  show(tool: string, args: Record<string, unknown>, theme?: 'light' | 'dark'): Promise<ToolAnswer>;
  /** Wait until the view has rendered `n` results in total since it was mounted. */
  rendered(n: number): Promise<void>;
  screenshot(path: string): Promise<void>;
  close(): Promise<void>;
}

/** Rebuild the view when a file of ui/playlist-view/ is newer than the built HTML, so what runs is the current source. */
export function ensureViewBuilt(): void {
  const dir = join(PROJECT_ROOT, 'ui', 'playlist-view');
  const built = existsSync(PLAYLIST_VIEW_FILE) ? statSync(PLAYLIST_VIEW_FILE).mtimeMs : 0;
  if (readdirSync(dir).some((f) => statSync(join(dir, f)).mtimeMs > built)) {
    execFileSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'build-view.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
}

/** Bundle the host page's script (the AppBridge and its PostMessageTransport). */
async function hostScript(): Promise<string> {
  const out = await build({ entryPoints: [join(PROJECT_ROOT, 'ui', 'test-host', 'host.ts')], bundle: true, format: 'iife', target: 'es2022', write: false, logLevel: 'warning' });
  return out.outputFiles[0]!.text.replaceAll('</script', '<\\/script');
}

export async function openViewHost(client: Client, options: { width?: number } = {}): Promise<ViewHost> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's package (apt-get install -y chromium)`);
  ensureViewBuilt();
  const view = await client.readResource({ uri: PLAYLIST_VIEW_URI });
  const content = view.contents[0] as { text?: string; mimeType?: string; _meta?: { ui?: { csp?: unknown } } } | undefined;
  if (!content?.text) throw new Error(`${PLAYLIST_VIEW_URI} has no HTML`);
  const tools = new Map<string, Tool>((await client.listTools()).tools.map((t) => [t.name, t]));

  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM });
  try {
    const page = await browser.newPage({ viewport: { width: options.width ?? 960, height: 900 } });
    const calls: ViewCall[] = [];
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.exposeFunction('hostCallTool', async (params: CallToolRequest['params']) => {
      calls.push({ name: params.name, arguments: (params.arguments ?? {}) as Record<string, unknown> });
      return client.callTool(params);
    });
    await page.exposeFunction('hostReadResource', async (params: ReadResourceRequest['params']) => client.readResource(params));
    await page.setContent(
      '<!doctype html><html lang="en"><head><title>host</title><style>body{margin:0}iframe{width:100%;border:0;display:block}</style></head>' +
        `<body><script>${await hostScript()}</script></body></html>`,
    );
    const frame = () => page.frameLocator('#view');
    const rendered = async (n: number) => {
      await frame().locator(`#app[data-renders="${n}"]:not([aria-busy])`).waitFor({ timeout: 20_000 });
    };
    return {
      page,
      calls,
      problems,
      view: frame,
      rendered,
      async show(name, args, theme = 'light') {
        const tool = tools.get(name);
        const uri = (tool?._meta?.ui as { resourceUri?: string } | undefined)?.resourceUri;
        if (uri !== PLAYLIST_VIEW_URI) throw new Error(`tool ${name} does not name the playlist view in _meta.ui.resourceUri (${String(uri)})`);
        const result = (await client.callTool({ name, arguments: args })) as ToolAnswer;
        await page.evaluate((spec) => (globalThis as unknown as { mountView(s: unknown): Promise<void> }).mountView(spec), {
          html: content.text!,
          csp: content._meta?.ui?.csp,
          tool: { name, inputSchema: { type: 'object' } },
          args,
          result,
          theme,
        } as never);
        // The first render, or the alert the view shows for an error answer.
        await frame().locator('#app[data-renders="1"]:not([aria-busy]), #status[role=alert]').first().waitFor({ timeout: 20_000 });
        return result;
      },
      async screenshot(path) {
        // Chromium paints only what the viewport shows: make it as tall as the view first.
        const box = await page.locator('#view').boundingBox();
        const size = page.viewportSize()!;
        if (box && box.height > size.height) await page.setViewportSize({ width: size.width, height: Math.ceil(box.height) });
        await page.locator('#view').screenshot({ path });
        await page.setViewportSize(size);
      },
      async close() {
        await browser.close();
      },
    };
  } catch (err) {
    await browser.close();
    throw err;
  }
}

