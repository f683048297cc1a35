import { join } from 'node:path';
import { PROJECT_ROOT } from './paths.js';

/**
 * The `mcpServers` entry a desktop client needs to spawn this server over stdio, with absolute paths:
 * a client started from the desktop does not get the shell's PATH, so a bare `node` or
 * `music-mcp-server` fails there with `spawn … ENOENT`. The node is the one running this command.
 */
export function stdioClientEntry(nodePath: string = process.execPath, root: string = PROJECT_ROOT): { command: string; args: string[] } {
  return { command: nodePath, args: [join(root, 'bin', 'music-mcp-server.js'), '--stdio'] };
}

/** Where Claude Desktop reads its config, per operating system (Settings → Developer → Edit Config opens it). */
export const CLAUDE_DESKTOP_CONFIG: Record<'darwin' | 'win32' | 'linux', string> = {
  darwin: '~/Library/Application Support/Claude/claude_desktop_config.json',
  win32: '%APPDATA%\\Claude\\claude_desktop_config.json',
  linux: '~/.config/Claude/claude_desktop_config.json',
};

/** What `music-mcp-server --client-config` prints: the JSON on stdout (pipeable), the how-to on stderr. */
export function clientConfigText(platform: NodeJS.Platform = process.platform, entry = stdioClientEntry()): { json: string; help: string } {
  const json = `${JSON.stringify({ mcpServers: { music: entry } }, null, 2)}\n`;
  const here = CLAUDE_DESKTOP_CONFIG[platform as keyof typeof CLAUDE_DESKTOP_CONFIG];
  const help = [
    'Add the "music" entry above to your client\'s "mcpServers" and restart the client.',
    `Claude Desktop: Settings → Developer → Edit Config opens the file${here ? ` (${here})` : ''}.`,
    'Cursor: ~/.cursor/mcp.json. The paths are absolute on purpose: a desktop client does not get your shell\'s PATH.',
    'Settings such as MUSIC_DATASET go in the entry\'s "env" object.',
  ].join('\n');
  return { json, help: `${help}\n` };
}
