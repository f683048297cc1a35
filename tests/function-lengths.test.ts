import { describe, expect, it } from 'vitest';
import { measureFile } from '../scripts/function-lengths.js';

describe('scripts/function-lengths.ts', () => {
  it('measures declarations, methods and arrow functions from first to last line, named as a reader would search', () => {
    const source = [
      'export function top(a: number) {', // line 1
      '  const inner = (b: number) => {', // line 2
      '    return b;',
      '  };',
      '  return inner(a);',
      '}',
      'class Box {',
      '  open(): void {}', // line 8
      '}',
      'const table = { build() { return 1; } };', // line 10
    ].join('\n');
    const found = measureFile('x.ts', source).map(({ name, line, lines }) => ({ name, line, lines }));
    expect(found).toEqual([
      { name: 'top', line: 1, lines: 6 },
      { name: 'inner', line: 2, lines: 3 },
      { name: 'open', line: 8, lines: 1 },
      { name: 'build', line: 10, lines: 1 },
    ]);
  });
});
