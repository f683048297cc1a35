import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { USER_CONFIG } from '../scripts/bundle.js';
import { ENV_NAMES, loadConfig } from '../src/config.js';
import { REPO_ROOT } from './helpers/dataset.js';

// server.json is what the MCP Registry publishes; the registry checks it against the npm package's
// package.json (mcpName) and clients build the launch command and settings form from it.

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string; description: string; mcpName: string };
const server = JSON.parse(readFileSync(join(REPO_ROOT, 'server.json'), 'utf8')) as {
  $schema: string;
  name: string;
  description: string;
  version: string;
  packages: {
    registryType: string;
    identifier: string;
    version: string;
    transport: { type: string };
    packageArguments: { type: string; value: string }[];
    environmentVariables: { name: string; description: string; isSecret?: boolean; isRequired?: boolean }[];
  }[];
};

describe('server.json (MCP Registry)', () => {
  it('names the npm package by its mcpName, version and description', () => {
    expect(server.$schema).toBe('https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json');
    expect(server.name).toBe(pkg.mcpName);
    expect(server.name).toMatch(/^[a-zA-Z0-9.-]+\/[a-zA-Z0-9._-]+$/);
    expect(server.version).toBe(pkg.version);
    expect(server.description).toBe(pkg.description);
    // The registry refuses longer descriptions.
    expect(server.description.length).toBeLessThanOrEqual(100);
    expect(server.packages).toHaveLength(1);
    expect(server.packages[0]).toMatchObject({ registryType: 'npm', identifier: pkg.name, version: pkg.version, transport: { type: 'stdio' } });
    expect(server.packages[0]!.packageArguments).toEqual([{ type: 'positional', value: '--stdio' }]);
  });

  it('lists environment variables the server reads, the same ones the bundle asks for, secrets marked', () => {
    const vars = server.packages[0]!.environmentVariables;
    for (const v of vars) {
      expect(ENV_NAMES, v.name).toContain(v.name);
      expect(v.isSecret ?? false, v.name).toBe(/SECRET|PASSWORD|TOKEN|PRIVATE_KEY/.test(v.name));
      expect(v.isRequired ?? false, `${v.name}: the server starts without it`).toBe(false);
      expect(v.description.length, v.name).toBeGreaterThan(10);
    }
    expect(vars.map((v) => v.name).sort()).toEqual(Object.values(USER_CONFIG).map((c) => c.env).sort());
    // Optional means optional: the server's config accepts none of them set.
    expect(() => loadConfig({ HOME: '/home/u' })).not.toThrow();
  });
});
