import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { allFunctionSpans, importCircles, importGraph } from './source-shape.ts';

const FUNCTIONS = fileURLToPath(new URL('../../functions', import.meta.url));

/**
 * A function longer than this no longer fits one screen, which is the point of the limit. Every function-like
 * node counts (declarations, methods, accessors, constructors, function expressions and arrows), from its first
 * line to its last, nested functions included in their parent. Data tables (constant object and array literals,
 * template strings such as the help texts) are not functions, so they are not measured.
 */
const MAX_LINES = 60;

/**
 * Functions allowed over the limit, as `file: name`, each with the reason. The list must be exact: an entry that
 * no longer names a long function fails the test, so it only ever shrinks.
 */
const LONG_FUNCTIONS_ALLOWED: Readonly<Record<string, string>> = {};

/** Import circles allowed, each as its sorted modules joined by ` <-> `, with the reason. Exact, like the above. */
const CIRCLES_ALLOWED: Readonly<Record<string, string>> = {};

describe('functions/ source shape', () => {
  it(`has no function, method or arrow longer than ${MAX_LINES} lines outside the allow-list`, () => {
    // Prepare
    const long = allFunctionSpans(FUNCTIONS).filter((span) => span.lines > MAX_LINES);

    // Act
    const found = long.map((span) => `${span.file}: ${span.name}`).sort();

    // Assess
    expect(
      found.filter((key) => !(key in LONG_FUNCTIONS_ALLOWED)),
      long.map((span) => `${span.file}:${span.line} ${span.name} (${span.lines} lines)`).join('\n'),
    ).toEqual([]);
    expect(Object.keys(LONG_FUNCTIONS_ALLOWED).filter((key) => !found.includes(key))).toEqual([]);
  });

  it('has no import circle among its modules, type-only imports included, outside the allow-list', () => {
    // Act
    const circles = importCircles(importGraph(FUNCTIONS)).map((members) => members.join(' <-> '));

    // Assess
    expect(circles.filter((circle) => !(circle in CIRCLES_ALLOWED))).toEqual([]);
    expect(Object.keys(CIRCLES_ALLOWED).filter((circle) => !circles.includes(circle))).toEqual([]);
  });
});

describe('source-shape', () => {
  const root = mkdtempSync(join(tmpdir(), 'keywarden-shape-'));
  const write = (path: string, text: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  const body = (lines: number): string =>
    Array.from({ length: lines - 2 }, (_, i) => `  const v${i} = ${i};`).join('\n');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it.each([
    ['a declaration', (n: number) => `export function fits() {\n${body(n)}\n}\n`, 'fits'],
    ['an arrow bound to a name', (n: number) => `export const fits = () => {\n${body(n)}\n};\n`, 'fits'],
    [
      'a method, named under its class',
      (n: number) => `export class Port {\n  fits() {\n${body(n)}\n  }\n}\n`,
      'Port.fits',
    ],
    [
      'an arrow passed as an argument, named under its parent',
      (n: number) => `export function outer() {\n  [1].map(() => {\n${body(n)}\n  });\n}\n`,
      'outer.<arrow>',
    ],
  ])('measures %s from its first to its last line', (_kind, source, name) => {
    // Prepare
    write('measure/sixty.ts', source(60));
    write('measure/sixty-one.ts', source(61));

    // Act
    const spans = allFunctionSpans(join(root, 'measure'));

    // Assess
    expect(spans.find((span) => span.file === 'sixty.ts' && span.name === name)?.lines).toBe(60);
    expect(spans.find((span) => span.file === 'sixty-one.ts' && span.name === name)?.lines).toBe(61);
  });

  it.each([
    ['a value import', "import { b } from './b.ts';", [['a.ts', 'b.ts']]],
    ['a type-only import', "import type { B } from './b.ts';", [['a.ts', 'b.ts']]],
    ['a re-export', "export { b } from './b.js';", [['a.ts', 'b.ts']]],
    ['no import back', '', []],
  ])('finds the circle made by %s', (kind, importBack, circles) => {
    // Prepare
    const dir = kind.replace(/\W+/g, '-');
    write(`${dir}/a.ts`, "import { c } from './c.ts';\nexport const a = c;\n");
    write(`${dir}/c.ts`, "import { b } from './b.ts';\nexport const c = b;\n");
    write(
      `${dir}/b.ts`,
      `${importBack}\nexport const b = 1;\n`.replace("'./b.ts'", "'./a.ts'").replace("'./b.js'", "'./a.js'"),
    );

    // Act
    const found = importCircles(importGraph(join(root, dir)));

    // Assess
    expect(found).toEqual(circles.length ? [['a.ts', 'b.ts', 'c.ts']] : []);
  });
});
