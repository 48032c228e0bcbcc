/** The generated sections of docs/permissions.md: compared with what the tests derive, rewritten on request. */

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PERMISSIONS_DOC = fileURLToPath(new URL('../../docs/permissions.md', import.meta.url));

const begin = (name: string) => `<!-- generated:${name} (npm run docs:permissions rewrites it) -->`;
const end = (name: string) => `<!-- /generated:${name} -->`;

/** The text between the markers of section `name`, or undefined when the doc has no such section. */
export function generatedSection(doc: string, name: string): string | undefined {
  const from = doc.indexOf(begin(name));
  const to = doc.indexOf(end(name));
  if (from < 0 || to < from) return undefined;
  return doc.slice(from + begin(name).length, to).replace(/^\n/, '');
}

/**
 * The section `name` of docs/permissions.md as it is; with KEYWARDEN_WRITE_DOCS=1, first replaced by `generated`
 * (so the comparison that follows passes and the diff shows what changed).
 */
export function documentedSection(name: string, generated: string): string | undefined {
  const doc = readFileSync(PERMISSIONS_DOC, 'utf8');
  if (process.env.KEYWARDEN_WRITE_DOCS === '1') {
    const current = generatedSection(doc, name);
    const replacement = `${begin(name)}\n${generated}${end(name)}`;
    const next =
      current === undefined
        ? `${doc.trimEnd()}\n\n${replacement}\n`
        : doc.replace(`${begin(name)}\n${current}${end(name)}`, replacement);
    writeFileSync(PERMISSIONS_DOC, next);
    return generated;
  }
  return generatedSection(doc, name);
}
