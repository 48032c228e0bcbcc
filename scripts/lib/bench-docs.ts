/** Where `npm run bench` writes its tables: between one pair of markers per section in docs/performance.md. */

import { readFile, writeFile } from 'node:fs/promises';

/** The marker pair of a section, e.g. `<!-- bench:cold:start -->` and `<!-- bench:cold:end -->`. */
export const benchMarkers = (section: string): { start: string; end: string } => ({
  start: `<!-- bench:${section}:start -->`,
  end: `<!-- bench:${section}:end -->`,
});

/** A page lacks a section's markers, or holds them out of order or twice. */
export class BenchMarkerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchMarkerError';
  }
}

/** `page` with what stands between `section`'s markers replaced by `markdown`; everything else unchanged. */
export function replaceBenchSection(page: string, section: string, markdown: string): string {
  const { start, end } = benchMarkers(section);
  const from = page.indexOf(start);
  const to = page.indexOf(end);
  if (from === -1 || to === -1 || to < from || page.indexOf(start, from + 1) !== -1) {
    throw new BenchMarkerError(
      `expected one ${start} followed by one ${end} in the performance page; found ${from === -1 ? 'no' : 'a'} start and ${to === -1 ? 'no' : 'an'} end marker`,
    );
  }
  return `${page.slice(0, from + start.length)}\n${markdown.trim()}\n${page.slice(to)}`;
}

/** Rewrites `section` in the page at `path` (docs/performance.md). */
export async function writeBenchSection(path: string, section: string, markdown: string): Promise<void> {
  const page = await readFile(path, 'utf8');
  await writeFile(path, replaceBenchSection(page, section, markdown));
}
