/**
 * Lists product functions longer than a line budget, longest first.
 *
 *   npx tsx scripts/function-lengths.ts            # functions over 80 lines
 *   npx tsx scripts/function-lengths.ts --max 80   # same, exit 1 when any is found
 *   npx tsx scripts/function-lengths.ts --over 40  # a lower reporting threshold
 *
 * Product code is src/, tools/, resources/ and bin/; tests, benches and scripts are left out. A function
 * is any declaration, method, accessor, constructor, function expression or arrow function; its length
 * counts the lines from its first token to its closing line, nested functions included.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
const PRODUCT_DIRS = ["src", "tools", "resources", "bin"];
const SOURCE_FILE = /\.(c|m)?[jt]s$/;

export interface FunctionLength {
  readonly file: string;
  readonly name: string;
  readonly line: number;
  readonly lines: number;
}

function sourceFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const files: string[] = [];
  for (const entry of entries.sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      if (entry !== "node_modules") files.push(...sourceFiles(path));
    } else if (SOURCE_FILE.test(entry) && !entry.endsWith(".d.ts")) {
      files.push(path);
    }
  }
  return files;
}

/** The name a reader would search for: the declared name, else the variable or property it is assigned to. */
function functionName(node: ts.FunctionLikeDeclaration, source: ts.SourceFile): string {
  if (ts.isConstructorDeclaration(node)) return "constructor";
  if (node.name !== undefined) return node.name.getText(source);
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) {
    return parent.name.getText(source);
  }
  if (ts.isCallExpression(parent)) {
    return `<callback of ${parent.expression.getText(source).slice(0, 40)}>`;
  }
  return "<anonymous>";
}

export function measureFile(path: string, text: string): FunctionLength[] {
  const kind = path.endsWith(".js") || path.endsWith(".mjs") ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, kind);
  const found: FunctionLength[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body !== undefined) {
      const fn = node as ts.FunctionLikeDeclaration;
      const start = source.getLineAndCharacterOfPosition(fn.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(fn.getEnd()).line;
      found.push({ file: path, name: functionName(fn, source), line: start + 1, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

export function longFunctions(root: string, over: number): FunctionLength[] {
  const all = PRODUCT_DIRS.flatMap((dir) => sourceFiles(join(root, dir))).flatMap((path) =>
    measureFile(relative(root, path), readFileSync(path, "utf8")),
  );
  return all.filter((fn) => fn.lines > over).sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file));
}

function parseArgs(argv: readonly string[]): { over: number; max: number | undefined } {
  let over = 80;
  let max: number | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    const value = Number(argv[i + 1]);
    if ((flag === "--max" || flag === "--over") && Number.isInteger(value) && value > 0) {
      if (flag === "--max") max = value;
      over = value;
      i += 1;
    } else {
      throw new Error(`unknown or incomplete argument '${flag ?? ""}'; use --over N or --max N (N a positive integer)`);
    }
  }
  return { over, max };
}

function main(): void {
  const { over, max } = parseArgs(process.argv.slice(2));
  const found = longFunctions(ROOT, over);
  for (const fn of found) console.log(`${String(fn.lines).padStart(5)}  ${fn.file}:${fn.line}  ${fn.name}`);
  console.log(`${found.length} product function(s) over ${over} lines`);
  if (max !== undefined && found.length > 0) process.exitCode = 1;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 2;
  }
}
