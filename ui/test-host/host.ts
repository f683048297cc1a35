// A minimal MCP Apps host for the browser tests and the screenshot script: it puts a view's HTML in a
// sandboxed iframe under the CSP its resource declares, and connects it with the ext-apps AppBridge.
// Tool calls and resource reads the view makes go to `window.hostCallTool` / `window.hostReadResource`,
// which the page's driver (scripts/view-host.ts) answers from the real server.
import { AppBridge, PostMessageTransport, type McpUiHostContext, type McpUiResourceCsp } from '@modelcontextprotocol/ext-apps/app-bridge';

declare global {
  interface Window {
    hostCallTool(params: unknown): Promise<never>;
    hostReadResource(params: unknown): Promise<never>;
    mountView(spec: MountSpec): Promise<void>;
    setViewTheme(theme: 'light' | 'dark'): Promise<void>;
  }
}

interface MountSpec {
  html: string;
  csp: McpUiResourceCsp | undefined;
  tool: { name: string; inputSchema: { type: 'object' } };
  args: Record<string, unknown>;
  result: Record<string, unknown>;
  theme: 'light' | 'dark';
}

let bridge: AppBridge | undefined;

/** The CSP a host derives from the resource's `_meta.ui.csp`: nothing but the declared origins. */
function policy(csp: McpUiResourceCsp | undefined): string {
  const res = (csp?.resourceDomains ?? []).join(' ');
  const connect = (csp?.connectDomains ?? []).join(' ') || "'none'";
  return `default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: ${res}; font-src ${res || "'none'"}; connect-src ${connect}; frame-src 'none'`;
}

window.mountView = async (spec) => {
  await bridge?.close();
  document.getElementById('view')?.remove();
  const frame = document.createElement('iframe');
  frame.id = 'view';
  frame.title = 'playlist view';
  frame.setAttribute('sandbox', 'allow-scripts');
  const meta = `<meta http-equiv="Content-Security-Policy" content="${policy(spec.csp)}">`;
  frame.srcdoc = spec.html.replace('<head>', `<head>${meta}`);
  document.body.append(frame);
  const context: McpUiHostContext = { theme: spec.theme, displayMode: 'inline', platform: 'web', toolInfo: { tool: spec.tool as never } };
  bridge = new AppBridge(null, { name: 'test-host', version: '1.0.0' }, { serverTools: {}, serverResources: {}, openLinks: {}, logging: {} }, { hostContext: context });
  bridge.oncalltool = (params) => window.hostCallTool(params);
  bridge.onreadresource = (params) => window.hostReadResource(params);
  bridge.onsizechange = ({ height }) => {
    if (height !== undefined) frame.style.height = `${height}px`;
  };
  const b = bridge;
  const initialized = new Promise<void>((resolve) => {
    b.oninitialized = () => resolve();
  });
  await b.connect(new PostMessageTransport(frame.contentWindow!, frame.contentWindow!));
  await initialized;
  await b.sendToolInput({ arguments: spec.args });
  await b.sendToolResult(spec.result as never);
};

window.setViewTheme = async (theme) => {
  await bridge?.sendHostContextChange({ theme });
};
