import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** One function, method, accessor, constructor or arrow found in a source file, with its span in lines. */
export interface FunctionSpan {
  /** Path relative to the scanned root, with forward slashes. */
  readonly file: string;
  /** Dotted path of enclosing names, e.g. `createSweepHandler.sweepOne`; unnamed arrows are `<arrow>`. */
  readonly name: string;
  /** First line of the declaration (1-based), comments before it excluded. */
  readonly line: number;
  /** Lines from the first to the last line of the declaration, both included. */
  readonly lines: number;
}

/** Every `.ts` file under `root` (declaration files excluded), sorted, as absolute paths. */
export function typeScriptFiles(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) found.push(path);
    }
  };
  walk(root);
  return found.sort();
}

const parse = (path: string): ts.SourceFile =>
  ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);

const isFunctionLike = (node: ts.Node): node is ts.SignatureDeclaration & { body?: ts.Node } =>
  ts.isFunctionDeclaration(node) ||
  ts.isFunctionExpression(node) ||
  ts.isArrowFunction(node) ||
  ts.isMethodDeclaration(node) ||
  ts.isConstructorDeclaration(node) ||
  ts.isGetAccessorDeclaration(node) ||
  ts.isSetAccessorDeclaration(node);

const propertyName = (name: ts.PropertyName | ts.BindingName): string | undefined =>
  ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isPrivateIdentifier(name) ? name.text : undefined;

// A function takes the name it is declared or bound under; an arrow passed as an argument stays `<arrow>`.
function nameOf(node: ts.Node): string | undefined {
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.name) {
    return propertyName(node.name);
  }
  if (ts.isGetAccessorDeclaration(node) || ts.isSetAccessorDeclaration(node)) return propertyName(node.name);
  if (ts.isClassDeclaration(node) && node.name) return node.name.text;
  const parent = node.parent;
  if (isFunctionLike(node) && parent) {
    if (
      ts.isVariableDeclaration(parent) ||
      ts.isPropertyAssignment(parent) ||
      ts.isPropertyDeclaration(parent)
    ) {
      return propertyName(parent.name);
    }
  }
  return undefined;
}

/** Every function-like declaration in one file, outer before inner, with the lines it spans. */
export function functionSpans(path: string, root: string): FunctionSpan[] {
  const source = parse(path);
  const file = relative(root, path).split('\\').join('/');
  const spans: FunctionSpan[] = [];
  const taken = new Map<string, number>();
  const lineOf = (position: number): number => source.getLineAndCharacterOfPosition(position).line + 1;
  const visit = (node: ts.Node, scope: readonly string[]): void => {
    let inner = scope;
    if (isFunctionLike(node) || ts.isClassDeclaration(node)) {
      const own = nameOf(node) ?? (ts.isClassDeclaration(node) ? '<class>' : '<arrow>');
      const base = [...scope, own].join('.');
      const seen = taken.get(base) ?? 0;
      taken.set(base, seen + 1);
      const name = seen === 0 ? base : `${base}#${seen + 1}`;
      inner = [...scope, seen === 0 ? own : `${own}#${seen + 1}`];
      if (isFunctionLike(node) && node.body) {
        const line = lineOf(node.getStart(source));
        spans.push({ file, name, line, lines: lineOf(node.getEnd()) - line + 1 });
      }
    }
    ts.forEachChild(node, (child) => visit(child, inner));
  };
  visit(source, []);
  return spans;
}

/** Every function-like declaration under `root`, longest first. */
export function allFunctionSpans(root: string): FunctionSpan[] {
  return typeScriptFiles(root)
    .flatMap((path) => functionSpans(path, root))
    .sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file) || a.line - b.line);
}

/**
 * The modules each file imports or re-exports from, among the files under `root`. Type-only imports count:
 * a circle of types still ties two modules' reasons to change together.
 */
export function importGraph(root: string): Map<string, string[]> {
  const files = typeScriptFiles(root);
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const path of files) {
    const targets = new Set<string>();
    for (const statement of parse(path).statements) {
      const specifier =
        (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
        statement.moduleSpecifier &&
        ts.isStringLiteral(statement.moduleSpecifier)
          ? statement.moduleSpecifier.text
          : undefined;
      if (!specifier?.startsWith('.')) continue;
      const target = resolve(dirname(path), specifier).replace(/\.(m?js)$/, '.ts');
      if (known.has(target)) targets.add(relative(root, target).split('\\').join('/'));
    }
    graph.set(relative(root, path).split('\\').join('/'), [...targets].sort());
  }
  return graph;
}

/** The import circles in a graph: each strongly connected set of two or more modules (or one importing itself). */
export function importCircles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  // Tarjan's algorithm: one pass, each module visited once.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  const connect = (module: string): void => {
    index.set(module, index.size);
    low.set(module, index.get(module) as number);
    stack.push(module);
    onStack.add(module);
    for (const target of graph.get(module) ?? []) {
      if (!index.has(target)) {
        connect(target);
        low.set(module, Math.min(low.get(module) as number, low.get(target) as number));
      } else if (onStack.has(target)) {
        low.set(module, Math.min(low.get(module) as number, index.get(target) as number));
      }
    }
    if (low.get(module) !== index.get(module)) return;
    const members: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop() as string;
      onStack.delete(member);
      members.push(member);
    } while (member !== module);
    if (members.length > 1 || (graph.get(module) ?? []).includes(module)) circles.push(members.sort());
  };
  for (const module of [...graph.keys()].sort()) if (!index.has(module)) connect(module);
  return circles.sort((a, b) => (a[0] as string).localeCompare(b[0] as string));
}
