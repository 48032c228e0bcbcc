import { describe, expect, it } from 'vitest';
import { byKind, bySource, kindOf, packageOf, selfTimes } from '../../scripts/lib/cpu-profile.ts';

describe('packageOf', () => {
  it.each([
    { path: 'node_modules/@smithy/core/dist-es/index.js', expected: '@smithy/core' },
    { path: '../node_modules/fast-xml-parser/src/x.js', expected: 'fast-xml-parser' },
    { path: 'functions/core/finding.ts', expected: undefined },
  ])('reads $expected from $path', ({ path, expected }) => {
    expect(packageOf(path)).toBe(expected);
  });
});

describe('kindOf', () => {
  it.each([
    { source: 'node_modules/@aws-sdk/core/dist-es/a.js', expected: 'sdk' },
    { source: 'node_modules/@smithy/core/dist-es/a.js', expected: 'sdk' },
    { source: 'node_modules/@aws-lambda-powertools/logger/lib/a.js', expected: 'logger' },
    { source: 'node_modules/bowser/a.js', expected: 'other' },
    { source: 'functions/core/asff.ts', expected: 'ours' },
    { source: 'node:internal/streams/writable', expected: 'node' },
    { source: '(garbage collector)', expected: 'gc' },
  ])('calls $source $expected', ({ source, expected }) => {
    expect(kindOf(source)).toBe(expected);
  });
});

describe('selfTimes', () => {
  // Three frames without source maps: a Node internal, V8's GC and idle time; samples 1 ms apart.
  const frame = (id: number, functionName: string, url: string) => ({
    id,
    callFrame: { functionName, url, lineNumber: 0, columnNumber: 0 },
  });
  const profile = {
    nodes: [
      frame(1, 'writeOrBuffer', 'node:internal/streams/writable'),
      frame(2, '(garbage collector)', ''),
      frame(3, '(idle)', ''),
    ],
    samples: [1, 1, 2, 3, 3, 3],
    timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000],
  };

  it('sums each frame’s samples into milliseconds, largest first', () => {
    expect(selfTimes(profile).map(({ functionName, kind, ms }) => ({ functionName, kind, ms }))).toEqual([
      { functionName: '(idle)', kind: 'node', ms: 3 },
      { functionName: 'writeOrBuffer', kind: 'node', ms: 2 },
      { functionName: '(garbage collector)', kind: 'gc', ms: 1 },
    ]);
  });

  it('leaves idle time out of the sums by kind and by source', () => {
    const times = selfTimes(profile);

    expect(byKind(times)).toMatchObject({ node: 2, gc: 1, sdk: 0, ours: 0 });
    expect(bySource(times).map((entry) => entry.source)).toEqual([
      'node:internal/streams/writable',
      '(garbage collector)',
    ]);
  });
});
