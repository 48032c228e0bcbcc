/** Reading the docs: the table below a marker comment, and the shell blocks of a page with the marker before each. */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** README.md and every page of docs/, as paths relative to the repository. */
export function documentationPages(): string[] {
  return [
    'README.md',
    ...readdirSync(join(ROOT, 'docs'))
      .filter((file) => file.endsWith('.md'))
      .map((file) => `docs/${file}`),
  ];
}

export const readPage = (page: string): string => readFileSync(join(ROOT, page), 'utf8');

/** The rows (cells, trimmed) of the table that follows `<!-- marker -->`, header and separator left out. */
export function tableAfter(page: string, marker: string): string[][] {
  const lines = page.split('\n');
  const at = lines.findIndex((line) => line.trim() === `<!-- ${marker} -->`);
  if (at === -1) throw new Error(`no <!-- ${marker} --> marker`);
  const rows: string[][] = [];
  for (const line of lines.slice(at + 1)) {
    if (!line.startsWith('|')) {
      if (rows.length === 0 && line.trim() === '') continue;
      break;
    }
    // A `\|` inside a cell is a literal bar (`table\|json`).
    rows.push(
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.replace(/\\\|/g, '|').trim()),
    );
  }
  return rows.slice(2);
}

/** Every marker of a kind in a page: `props:X` gives the X of each `<!-- props:X -->`. */
export function markersOf(page: string, kind: string): string[] {
  return [...page.matchAll(new RegExp(`<!-- ${kind}:([\\w-]+) -->`, 'g'))].map((match) => match[1] as string);
}

/** The first `code` span of a cell. */
export const codeOf = (cell: string | undefined): string | undefined => /`([^`]+)`/.exec(cell ?? '')?.[1];

export interface ShellBlock {
  readonly page: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** What the marker before the block says (`run`, `run exit=2`, `help`, …); undefined without one. */
  readonly marker: string | undefined;
  /** The commands, one per line, with `\` continuations joined and comments dropped. */
  readonly commands: string[];
}

/** The ```sh and ```bash blocks of a page, each with the `<!-- sh: … -->` marker on the non-blank line before it. */
export function shellBlocks(page: string, text: string): ShellBlock[] {
  const lines = text.split('\n');
  const blocks: ShellBlock[] = [];
  for (let index = 0; index < lines.length; index++) {
    const fence = /^(\s*)```(sh|bash|shell|console)\s*$/.exec(lines[index] ?? '');
    if (fence === null) continue;
    let before = index - 1;
    while (before >= 0 && lines[before]?.trim() === '') before--;
    const marker = /^\s*<!-- sh: (.+?) -->\s*$/.exec(lines[before] ?? '')?.[1];
    const body: string[] = [];
    let end = index + 1;
    while (end < lines.length && lines[end]?.trim() !== '```') body.push(lines[end++] ?? '');
    const commands = body
      .join('\n')
      .replace(/\\\n\s*/g, '')
      .split('\n')
      .map((line) => line.replace(/\s+#.*$/, '').trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    blocks.push({ page, line: index + 1, marker, commands });
    index = end;
  }
  return blocks;
}
