import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { REPO_ROOT } from './helpers/dataset.js';

// A stdio client reads the server's stdout as JSON-RPC from its first byte: every way the README and
// the committed client configs start the server for stdio must print nothing else there.

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

/** Shell commands the README shows (code spans and lines of code blocks) that start the stdio server. */
function readmeStdioCommands(): string[] {
  const spans = [...readme.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n'));
  const inline = [...readme.replace(/```[\s\S]*?```/g, '').matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
  return [...new Set([...spans, ...inline].map((c) => c.replace(/\s+#.*$/, '').trim()))]
    // Clients that start the server themselves and print their own output: the smoke check, the Inspector.
    .filter((c) => /(^|\s)--stdio(\s|$)/.test(c) && !/^(npm run smoke|npx @modelcontextprotocol\/inspector)\b/.test(c));
}

/** `command` + `args` of a client config entry, as one shell command with this checkout's paths. */
function entryCommand(entry: { command: string; args?: string[] }): string {
  return [entry.command, ...(entry.args ?? [])].map((a) => `'${a.replaceAll('${workspaceFolder}', REPO_ROOT.replace(/\/$/, ''))}'`).join(' ');
}

const shims = mkdtempSync(join(tmpdir(), 'music-mcp-path-'));
// What `npm link` does: the package bin on the PATH under its name.
symlinkSync(join(REPO_ROOT, 'bin/music-mcp-server.js'), join(shims, 'music-mcp-server'));
afterAll(() => rmSync(shims, { recursive: true, force: true }));

const INITIALIZE = `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'stdio-commands-test', version: '1' } } })}\n`;

/** Starts `command` in the checkout, sends initialize, and returns stdout up to the first newline. */
function firstLine(command: string): Promise<{ line: string; stderr: string }> {
  const child = spawn('sh', ['-c', command], {
    cwd: REPO_ROOT,
    env: { PATH: `${shims}${delimiter}${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? tmpdir(), MUSIC_DATA_DIR: inject('builtDataDir'), LOG_LEVEL: 'warn' },
  });
  child.stdin.write(INITIALIZE);
  return new Promise((resolve, reject) => {
    let out = '';
    let stderr = '';
    const timer = setTimeout(() => finish(new Error(`no line on stdout within 60 s; stderr: ${stderr}`)), 60_000);
    const finish = (err?: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      if (err) reject(err);
      else resolve({ line: out.slice(0, out.indexOf('\n')), stderr });
    };
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) finish();
    });
    child.once('exit', (code) => finish(new Error(`exited (${code}) before a line on stdout: ${out}${stderr}`)));
  });
}

async function expectProtocolFirst(command: string): Promise<void> {
  const { line, stderr } = await firstLine(command);
  expect(line[0], `${command}: first byte on stdout; stderr: ${stderr}`).toBe('{');
  const message = JSON.parse(line) as { jsonrpc: string; id: number; result: { serverInfo: { name: string } } };
  expect(message).toMatchObject({ jsonrpc: '2.0', id: 1, result: { serverInfo: { name: 'music-mcp-server' } } });
}

describe('stdio commands print only protocol on stdout', () => {
  const shown = readmeStdioCommands();

  it('the README shows the node, bin and silent-npm commands for stdio', () => {
    expect(shown).toEqual(expect.arrayContaining(['node bin/music-mcp-server.js --stdio', 'music-mcp-server --stdio', 'npm --silent start -- --stdio']));
  });

  it.each(shown)('README command `%s`', async (command) => {
    await expectProtocolFirst(command);
  }, 70_000);

  it.each(['mcp.json', '.vscode/mcp.json'])('the committed %s entry', async (file) => {
    const config = JSON.parse(readFileSync(join(REPO_ROOT, file), 'utf8')) as { mcpServers?: Record<string, { command: string; args?: string[] }>; servers?: Record<string, { command: string; args?: string[] }> };
    await expectProtocolFirst(entryCommand((config.mcpServers ?? config.servers)!.music!));
  }, 70_000);

  it('the entry --client-config prints: absolute node and bin paths, and it starts', async () => {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/music-mcp-server.js'), '--client-config'], { cwd: tmpdir(), encoding: 'utf8', env: { PATH: '', HOME: tmpdir() } });
    expect(r.status, r.stderr).toBe(0);
    const entry = (JSON.parse(r.stdout) as { mcpServers: { music: { command: string; args: string[] } } }).mcpServers.music;
    expect(entry.command).toBe(process.execPath);
    expect(entry.args).toEqual([join(REPO_ROOT, 'bin/music-mcp-server.js'), '--stdio']);
    expect(r.stderr).toMatch(/Claude Desktop: Settings → Developer → Edit Config/);
    await expectProtocolFirst(entryCommand(entry));
  }, 70_000);
});
