/**
 * Reads a V8 `.cpuprofile` (from `node --cpu-prof`) of a bundle and says where the self time went, by original
 * source (through the bundle's source map): the SDK, KeyWarden's own modules, Node itself, the garbage collector.
 */

import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
    readonly columnNumber: number;
  };
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** What a sample's source was. */
export type SourceKind = 'ours' | 'sdk' | 'logger' | 'node' | 'gc' | 'other';

export interface SelfTime {
  readonly kind: SourceKind;
  /** `functions/core/finding.ts`, `@smithy/core`, `node:internal/...`, `(garbage collector)`. */
  readonly source: string;
  readonly functionName: string;
  /** 1-based line in the original source, when mapped. */
  readonly line?: number;
  readonly ms: number;
}

/** The package (`@scope/name` or `name`) of a path inside node_modules, or undefined. */
export function packageOf(path: string): string | undefined {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  return match?.[1];
}

/** The kind of an original source path or a V8 pseudo frame. */
export function kindOf(source: string): SourceKind {
  if (source === '(garbage collector)') return 'gc';
  const pkg = packageOf(source);
  if (pkg !== undefined) {
    if (pkg.startsWith('@aws-sdk/') || pkg.startsWith('@smithy/') || pkg.startsWith('@aws/')) return 'sdk';
    if (pkg.startsWith('@aws-lambda-powertools/')) return 'logger';
    return 'other';
  }
  if (/(^|\/)functions\//.test(source)) return 'ours';
  if (source.startsWith('node:') || source === '(program)' || source === '') return 'node';
  return 'other';
}

/** Self time per function, mapped to original sources through each bundle file's `.map` beside it. */
export function selfTimes(profile: CpuProfile): SelfTime[] {
  const maps = new Map<string, SourceMap | undefined>();
  const mapFor = (url: string): SourceMap | undefined => {
    if (!url.startsWith('file://')) return undefined;
    if (!maps.has(url)) {
      try {
        maps.set(url, new SourceMap(JSON.parse(readFileSync(`${fileURLToPath(url)}.map`, 'utf8'))));
      } catch {
        maps.set(url, undefined);
      }
    }
    return maps.get(url);
  };
  const byNode = new Map<number, number>();
  profile.samples.forEach((nodeId, index) => {
    byNode.set(nodeId, (byNode.get(nodeId) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000);
  });
  const totals = new Map<string, SelfTime>();
  for (const node of profile.nodes) {
    const ms = byNode.get(node.id);
    if (ms === undefined) continue;
    const { url, lineNumber, columnNumber, functionName } = node.callFrame;
    const entry = mapFor(url)?.findEntry(lineNumber, columnNumber);
    const original =
      entry && 'originalSource' in entry && entry.originalSource
        ? entry.originalSource.replace(/^.*?(node_modules\/|functions\/)/, '$1')
        : undefined;
    const source = original ?? (url === '' ? functionName || '(program)' : url);
    const key = `${source}\u0000${functionName}`;
    const previous = totals.get(key);
    totals.set(key, {
      // V8's own frames ((program), builtins) have no URL.
      kind:
        url === '' && !original ? (functionName === '(garbage collector)' ? 'gc' : 'node') : kindOf(source),
      source,
      functionName: functionName || '(anonymous)',
      ...(original && entry && 'originalLine' in entry ? { line: entry.originalLine + 1 } : {}),
      ms: (previous?.ms ?? 0) + ms,
    });
  }
  return [...totals.values()].sort((a, b) => b.ms - a.ms);
}

/** Milliseconds per kind, leaving out `(idle)` (waiting for I/O is not CPU). */
export function byKind(times: readonly SelfTime[]): Record<SourceKind, number> {
  const sums: Record<SourceKind, number> = { ours: 0, sdk: 0, logger: 0, node: 0, gc: 0, other: 0 };
  for (const time of times) if (time.functionName !== '(idle)') sums[time.kind] += time.ms;
  return sums;
}

/** Milliseconds per original source file (or package for node_modules), largest first. */
export function bySource(times: readonly SelfTime[]): { source: string; kind: SourceKind; ms: number }[] {
  const sums = new Map<string, { source: string; kind: SourceKind; ms: number }>();
  for (const time of times) {
    if (time.functionName === '(idle)') continue;
    const source = packageOf(time.source) ?? time.source;
    const previous = sums.get(source);
    sums.set(source, { source, kind: time.kind, ms: (previous?.ms ?? 0) + time.ms });
  }
  return [...sums.values()].sort((a, b) => b.ms - a.ms);
}
