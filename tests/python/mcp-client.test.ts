/**
 * A second, independent MCP client: the Python SDK (`mcp` 2.x in .venv-dbt) runs
 * tests/python/mcp_client_check.py against the server process over stdio and over Streamable HTTP,
 * in both connect modes (auto = probe server/discover 2026-07-28 first; legacy = the initialize
 * handshake). The
 * check lists tools/resources/templates/prompts, calls every tool and validates structuredContent
 * against outputSchema with jsonschema, reads every resource and template, gets every prompt.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DATASET_PATH, REPO_ROOT } from '../helpers/dataset.js';
import { venv } from '../helpers/python.js';
import { announcedUrl } from '../helpers/server-process.js';

const py = venv('dbt');
const CHECK = join(REPO_ROOT, 'tests', 'python', 'mcp_client_check.py');
const BIN = join(REPO_ROOT, 'bin', 'music-mcp-server.js');
const TOOLS = ['artist_metadata', 'recommend_by_genre', 'search_music_knowledge', 'sequence_playlist', 'similar_tracks', 'tracks_by_artist'];

interface Summary {
  protocol_version: string;
  listed: { tools: number; resources: number; templates: number; prompts: number };
  tools: Record<string, { is_error: boolean; schema_errors?: number }>;
  templates: Record<string, { uri: string; chars: number }>;
  prompts: Record<string, { messages: number }>;
  artist_choice: { forms: string[][]; is_error: boolean; artist: string | null; how: string | null; text: string };
  failures: string[];
}

function runCheck(args: string[]): Summary {
  py.assertPresent();
  const started = Date.now();
  const r = spawnSync(py.bin('python'), [CHECK, ...args], { cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  console.error(`python mcp client ${args.slice(0, 3).join(' ')}: ${Date.now() - started} ms`);
  expect(r.stdout.trim(), `${r.stdout}\n${r.stderr}`).toMatch(/^\{/);
  const summary = JSON.parse(r.stdout) as Summary;
  expect(summary.failures).toEqual([]);
  expect(r.status, r.stderr).toBe(0);
  return summary;
}

function expectFullCoverage(s: Summary): void {
  expect(Object.keys(s.tools).sort()).toEqual(TOOLS);
  for (const [name, t] of Object.entries(s.tools)) expect(t, name).toEqual({ is_error: false, schema_errors: 0 });
  expect(s.listed.tools).toBe(TOOLS.length);
  expect(s.listed.resources).toBeGreaterThanOrEqual(3);
  expect(Object.keys(s.templates).sort()).toEqual(['music://artists/{artist}', 'music://genres/{genre}', 'music://tracks/{track_id}']);
  expect(Object.keys(s.prompts).sort()).toEqual(['artist_deep_dive', 'build_playlist', 'compare_genres']);
}

function expectEra(mode: Mode, s: Summary): void {
  expect(s.protocol_version).toBe(mode === 'legacy' ? '2025-11-25' : '2026-07-28');
  // An artist name that fits two artists: a 2026-07-28 client that answers forms is asked and gets the one it
  // chose; a 2025-era client gets the error naming both, and no form.
  if (mode === 'legacy') {
    expect(s.artist_choice).toMatchObject({ forms: [], is_error: true, artist: null });
    expect(s.artist_choice.text).toMatch(/«skillex» fits several catalog artists: «Skillet» .*«Skrillex»/);
  } else {
    expect(s.artist_choice).toMatchObject({ forms: [['Skillet', 'Skrillex']], is_error: false, artist: 'Skrillex', how: 'chosen' });
  }
}

/** legacy: initialize at 2025-11-25; auto: server/discover, which this server answers; 2026-07-28: pinned, no fallback. */
const MODES = ['auto', 'legacy', '2026-07-28'] as const;
type Mode = (typeof MODES)[number];

describe.runIf(py.run)(`the Python MCP SDK as a client${py.skipNote}`, () => {
  const env = () => ({ MUSIC_DATA_DIR: inject('builtDataDir'), MUSIC_DATASET: DATASET_PATH, LOG_LEVEL: 'warn' });

  for (const mode of MODES) {
    it(`over stdio (${mode})`, () => {
      const pairs = Object.entries(env()).map(([k, v]) => `${k}=${v}`);
      const s = runCheck(['--mode', mode, '--stdio', process.execPath, BIN, ...pairs]);
      expectFullCoverage(s);
      expectEra(mode, s);
    });
  }

  describe('over Streamable HTTP', () => {
    let server: ChildProcess;
    let url: string;
    beforeAll(async () => {
      server = spawn(process.execPath, [BIN], { cwd: REPO_ROOT, env: { ...process.env, ...env(), MCP_HTTP_PORT: '0' }, stdio: ['ignore', 'ignore', 'pipe'] });
      url = await announcedUrl(server);
    });
    afterAll(() => {
      server?.kill('SIGTERM');
    });

    for (const mode of MODES) {
      it(`${mode}`, () => {
        const s = runCheck(['--mode', mode, '--http', url]);
        expectFullCoverage(s);
        expectEra(mode, s);
      });
    }
  });
});
