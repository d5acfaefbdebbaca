import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { packageSources, readSource, ROOT, sourceFiles } from './source-files.js';

/**
 * Imports point one way: no module of a package's src reaches itself again through its imports, type-only ones
 * included (a type circle still ties the files' meanings together, and hides a concept in the wrong place).
 * Imports are read from the syntax tree: `import`, `import type`, `export … from`, `import()` and `import('…').T`
 * (docs/STYLE.md, pattern 16).
 */

/** `@concierge/x` (and `@concierge/x/sub`) to the source of the workspace package that declares it. */
function workspacePackages(): Map<string, string> {
  const names = new Map<string, string>();
  for (const dir of readdirSync(join(ROOT, 'packages'))) {
    const manifest = join(ROOT, 'packages', dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string };
    if (name !== undefined) names.set(name, join('packages', dir, 'src'));
  }
  return names;
}

function resolveModule(fromFile: string, specifier: string, packages: Map<string, string>): string | null {
  let base: string;
  if (specifier.startsWith('.')) base = normalize(join(dirname(fromFile), specifier));
  else {
    const name = [...packages.keys()].find((n) => specifier === n || specifier.startsWith(`${n}/`));
    if (name === undefined) return null;
    base = join(packages.get(name)!, specifier.slice(name.length));
  }
  const stem = base.replace(/\.(m?js|jsx)$/, '');
  for (const candidate of [base, `${stem}.ts`, `${stem}.tsx`, join(stem, 'index.ts'), join(stem, 'index.tsx')])
    if (/\.tsx?$/.test(candidate) && existsSync(join(ROOT, candidate))) return candidate;
  return null;
}

function importsOf(file: string): string[] {
  const source = ts.createSourceFile(file, readSource(file), ts.ScriptTarget.Latest, false);
  const specifiers: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier)
    )
      specifiers.push(node.moduleSpecifier.text);
    else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    )
      specifiers.push(node.argument.literal.text);
    else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteralLike(node.arguments[0])
    )
      specifiers.push(node.arguments[0].text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specifiers;
}

/** The strongly connected components of more than one module, or of one that imports itself (Tarjan). */
function circles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) connect(v);
  return found;
}

test('no import circle in packages/*/src, type-only imports included', () => {
  const packages = workspacePackages();
  const files = sourceFiles(packageSources(), ['.ts', '.tsx']);
  assert.ok(files.length > 100, `only ${files.length} source files found: is the root right?`);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = importsOf(file)
      .map((s) => resolveModule(file, s, packages))
      .filter((t): t is string => t !== null);
    graph.set(file, [...new Set(targets)]);
  }
  const found = circles(graph);
  assert.deepEqual(found, [], `modules that import each other:\n${found.map((c) => c.join(' ↔ ')).join('\n')}`);
});
