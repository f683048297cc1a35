/**
 * docs/ARCHITECTURE.md stays true to the code: every file or folder it names in backticks exists, every
 * `file.ts#Symbol` it names is still exported from that file (`#Class.method`: the class is exported and
 * has the method), and its lineage table has a row for every tool the server registers.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const DOC = readFileSync(join(ROOT, 'docs/ARCHITECTURE.md'), 'utf8');

/** The text of one `## heading` section. */
function section(title: string): string {
  const start = DOC.indexOf(`\n## ${title}`);
  if (start < 0) throw new Error(`docs/ARCHITECTURE.md has no "## ${title}" section`);
  const end = DOC.indexOf('\n## ', start + 1);
  return DOC.slice(start, end < 0 ? undefined : end);
}

/** Backticked references that name a repository path: `dir/`, `dir/file.ext` or `dir/file.ts#Symbol`. */
function references(text: string): { path: string; symbol?: string }[] {
  const refs: { path: string; symbol?: string }[] = [];
  for (const [, token] of text.matchAll(/`([^`\s]+)`/g)) {
    const m = /^((?:[\w.-]+\/)+(?:[\w.-]+\.(?:ts|mjs|js|sql|yml|py|md|json))?)(?:#([\w.]+))?$/.exec(token!);
    if (m) refs.push({ path: m[1]!, ...(m[2] ? { symbol: m[2] } : {}) });
  }
  return refs;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Why `symbol` is not exported from the source text, or null when it is. */
function missingExport(source: string, symbol: string): string | null {
  const [name, member] = symbol.split('.') as [string, string | undefined];
  const declared = new RegExp(
    `export\\s+(?:declare\\s+)?(?:default\\s+)?(?:async\\s+)?(?:abstract\\s+)?(?:function\\*?|class|const|let|var|interface|type|enum)\\s+${escape(name)}\\b`,
  );
  const listed = new RegExp(`export\\s+(?:type\\s+)?\\{[^}]*\\b${escape(name)}\\b[^}]*\\}`);
  if (!declared.test(source) && !listed.test(source)) return `${name} is not exported`;
  if (member && !new RegExp(`^\\s+(?:(?:async|get|static|readonly|private|public)\\s+)*${escape(member)}\\s*[(<]`, 'm').test(source)) {
    return `${name} has no member ${member}`;
  }
  return null;
}

describe('docs/ARCHITECTURE.md', () => {
  const all = references(DOC);

  it('names only files and folders that exist', () => {
    expect(all.length).toBeGreaterThan(50);
    const missing = [...new Set(all.map((r) => r.path))].filter((p) => {
      const full = join(ROOT, p);
      return !existsSync(full) || (p.endsWith('/') && !statSync(full).isDirectory());
    });
    expect(missing, 'paths named in docs/ARCHITECTURE.md that no longer exist').toEqual([]);
  });

  it('names only symbols their files still export', () => {
    const withSymbol = all.filter((r) => r.symbol !== undefined);
    expect(withSymbol.length).toBeGreaterThan(20);
    const wrong = withSymbol
      .map((r) => {
        const file = join(ROOT, r.path);
        const why = existsSync(file) ? missingExport(readFileSync(file, 'utf8'), r.symbol!) : 'the file is gone';
        return why ? `${r.path}#${r.symbol}: ${why}` : null;
      })
      .filter((x) => x !== null);
    expect(wrong).toEqual([]);
  });

  it('maps every top-level folder of the repository', () => {
    const mapped = new Set(references(section('Folder map')).map((r) => r.path.split('/')[0]));
    const folders = readdirSync(ROOT, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !d.name.startsWith('.') && existsSync(join(ROOT, d.name)))
      .map((d) => d.name)
      .filter((n) => !['node_modules', 'data', 'dist', 'build', 'test-output', 'tools-node', 'target', 'logs'].includes(n));
    expect(folders.filter((f) => !mapped.has(f))).toEqual([]);
  });

  it('has a lineage row for every tool the server registers, naming its tool file', () => {
    const lineage = section('Lineage');
    const rows = lineage.split('\n').filter((l) => /^\| `[a-z_]+` \|/.test(l));
    const toolFiles = readdirSync(join(ROOT, 'tools')).filter((f) => f.endsWith('.ts'));
    const registered = toolFiles.flatMap((f) =>
      [...readFileSync(join(ROOT, 'tools', f), 'utf8').matchAll(/registerTool\(\s*'([a-z_]+)'/g)].map((m) => ({ tool: m[1]!, file: `tools/${f}` })),
    );
    expect(registered.length).toBeGreaterThanOrEqual(6);
    for (const { tool, file } of registered) {
      const row = rows.find((r) => r.startsWith(`| \`${tool}\` |`));
      expect(row, `no lineage row for ${tool}`).toBeDefined();
      expect(references(row!).map((r) => r.path), `the ${tool} row names its file`).toContain(file);
      // Every column filled: tool file, catalog, snapshot, mart, dbt models, staging, ingest.
      expect(row!.split('|').slice(1, -1).every((cell) => cell.trim().length > 0)).toBe(true);
    }
  });
});
