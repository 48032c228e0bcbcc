import { existsSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { documentationPages, ROOT, readPage } from './markdown.ts';

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

const anchorsOf = (text: string): Set<string> =>
  new Set(
    text
      .replace(/```[\s\S]*?```/g, '')
      .split('\n')
      .filter((line) => /^#{1,6} /.test(line))
      .map((line) => slug(line.replace(/^#+ /, ''))),
  );

describe('links between the README and docs pages', () => {
  it.each(documentationPages())('%s links only to files and headings that exist', (page) => {
    // Prepare
    const text = readPage(page).replace(/```[\s\S]*?```/g, '');
    const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((match) => match[1] as string)
      .filter((target) => !/^[a-z]+:/.test(target));

    // Act
    const broken = links.filter((target) => {
      const [file, anchor] = target.split('#') as [string, string | undefined];
      const path = file === '' ? page : normalize(join(dirname(page), file));
      if (!existsSync(join(ROOT, path))) return true;
      return anchor !== undefined && path.endsWith('.md') && !anchorsOf(readPage(path)).has(anchor);
    });

    // Assess
    expect(broken).toEqual([]);
  });
});
