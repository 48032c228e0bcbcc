import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  formatCounts,
  formatMs,
  formatRatio,
  markdownTable,
  median,
  percentile,
  total,
} from '../../scripts/lib/stats.ts';

describe('percentile', () => {
  it.each([
    { samples: [5, 1, 3, 2, 4], p: 50, expected: 3 },
    { samples: [5, 1, 3, 2, 4], p: 100, expected: 5 },
    { samples: [5, 1, 3, 2, 4], p: 0, expected: 1 },
    { samples: Array.from({ length: 100 }, (_, i) => i + 1), p: 99, expected: 99 },
    { samples: Array.from({ length: 50 }, (_, i) => i + 1), p: 99, expected: 50 },
  ])('returns $expected for p$p of $samples.length samples (nearest rank)', ({ samples, p, expected }) => {
    expect(percentile(samples, p)).toBe(expected);
  });

  it('returns NaN when there are no samples', () => {
    expect(percentile([], 50)).toBeNaN();
  });

  it('throws when p is outside 0-100', () => {
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});

describe('median', () => {
  it.each([
    { samples: [3, 1, 2], expected: 2 },
    { samples: [4, 1, 3, 2], expected: 2.5 },
    { samples: [7], expected: 7 },
  ])('returns $expected for $samples', ({ samples, expected }) => {
    expect(median(samples)).toBe(expected);
  });

  it('does not reorder its input', () => {
    const samples = [3, 1, 2];
    median(samples);
    expect(samples).toEqual([3, 1, 2]);
  });
});

describe('formatters', () => {
  it.each([
    { ms: 12.345, expected: '12.3 ms' },
    { ms: 1234.5, expected: '1,235 ms' },
    { ms: Number.NaN, expected: 'n/a' },
  ])('formatMs($ms) is $expected', ({ ms, expected }) => {
    expect(formatMs(ms)).toBe(expected);
  });

  it('formats bytes with KiB and a ratio with ×', () => {
    expect(formatBytes(2048)).toBe('2,048 B (2.0 KiB)');
    expect(formatRatio(1.234)).toBe('1.23×');
  });
});

describe('formatCounts', () => {
  it('sorts operations and divides every count by the number of events', () => {
    const counts = { 'iam.ListAccessKeys': 200, 'iam.GetUser': 100, 'securityhub.BatchImportFindings': 100 };

    expect(formatCounts(counts, 100)).toBe(
      'iam.GetUser 1, iam.ListAccessKeys 2, securityhub.BatchImportFindings 1',
    );
  });

  it('shows a fraction when the calls do not divide evenly, and none when there are no calls', () => {
    expect(formatCounts({ 'iam.GetUser': 3 }, 2)).toBe('iam.GetUser 1.50');
    expect(formatCounts({})).toBe('none');
  });
});

describe('total', () => {
  it('adds the counts of the operations with the prefix only', () => {
    const counts = { 'iam.GetUser': 2, 'iam.ListUsers': 1, 'securityhub.GetFindings': 5 };

    expect(total(counts, 'iam.')).toBe(3);
    expect(total(counts)).toBe(8);
  });
});

describe('markdownTable', () => {
  it('renders a header, a separator and escaped rows', () => {
    const table = markdownTable(
      ['Event', 'Calls'],
      [
        ['compliant', '3'],
        ['a|b', '0'],
      ],
    );

    expect(table).toBe('| Event | Calls |\n| --- | --- |\n| compliant | 3 |\n| a\\|b | 0 |');
  });

  it('throws when a row has a different number of cells than the header', () => {
    expect(() => markdownTable(['Event', 'Calls'], [['compliant']])).toThrow(/1 cells, the header has 2/);
  });
});
