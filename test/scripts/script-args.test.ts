import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BENCH_SECTIONS, benchArgs } from '../../scripts/lib/bench-args.ts';
import { BenchMarkerError, replaceBenchSection } from '../../scripts/lib/bench-docs.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('benchArgs', () => {
  it('runs every section by default and writes the performance page', () => {
    expect(benchArgs([])).toEqual({
      kind: 'run',
      values: {
        quick: false,
        sections: new Set(BENCH_SECTIONS),
        detector: undefined,
        burstModels: ['queue'],
        burstSizes: undefined,
        writeDocs: true,
      },
    });
  });

  it.each([
    {
      argv: ['--only=cold,events', '--quick'],
      picked: { quick: true, sections: new Set(['cold', 'events']) },
    },
    {
      argv: ['--only', 'burst', '--burst=queue,async', '--burst-sizes=100,300'],
      picked: { burstSizes: [100, 300] },
    },
    { argv: ['--no-docs'], picked: { writeDocs: false } },
  ])('reads $argv', ({ argv, picked }) => {
    expect(benchArgs(argv)).toMatchObject({ kind: 'run', values: picked });
  });

  it.each([
    { argv: ['--help'], expected: { kind: 'help' } },
    { argv: ['-h', '--only=org'], expected: { kind: 'help' } },
    {
      argv: ['--only=lamda'],
      expected: {
        kind: 'usage-error',
        message:
          '--only: unknown value "lamda"; use one or more of lambda, profile, cold, events, sweep, org, burst, report, comma-separated',
      },
    },
    {
      argv: ['--only=cold,'],
      expected: { kind: 'usage-error', message: expect.stringContaining('--only: unknown value ""') },
    },
    {
      argv: ['--burst=sync'],
      expected: { kind: 'usage-error', message: expect.stringContaining('--burst: unknown value "sync"') },
    },
    {
      argv: ['--burst-sizes=100,many'],
      expected: { kind: 'usage-error', message: '--burst-sizes: "many" is not a whole number of events' },
    },
    {
      argv: ['--bogus'],
      expected: { kind: 'usage-error', message: "unknown option '--bogus' for npm run bench" },
    },
    {
      argv: ['quick'],
      expected: { kind: 'usage-error', message: 'unexpected argument "quick" for npm run bench' },
    },
    // A help that runs nothing must not hide a mistake in the same command line.
    {
      argv: ['--only=lamda', '--help'],
      expected: { kind: 'usage-error', message: expect.stringContaining('"lamda"') },
    },
  ])('answers $argv with $expected.kind', ({ argv, expected }) => {
    expect(benchArgs(argv)).toEqual(expected);
  });
});

describe('replaceBenchSection', () => {
  const page = [
    '# Performance',
    '<!-- bench:cold:start -->',
    'old cold table',
    '<!-- bench:cold:end -->',
    'prose kept',
    '<!-- bench:org:start -->',
    'old org table',
    '<!-- bench:org:end -->',
    '',
  ].join('\n');

  it("replaces what stands between one section's markers and nothing else", () => {
    // Act
    const written = replaceBenchSection(page, 'cold', '| new | table |\n');

    // Assess
    expect(written).toBe(page.replace('old cold table', '| new | table |'));
  });

  it.each([
    { case: 'no markers', text: '# Performance\n', section: 'cold' },
    { case: 'only a start marker', text: '<!-- bench:cold:start -->\n', section: 'cold' },
    {
      case: 'the end before the start',
      text: '<!-- bench:cold:end -->\n<!-- bench:cold:start -->\n',
      section: 'cold',
    },
    { case: 'a section twice', text: `${page}${page}`, section: 'org' },
  ])('refuses a page with $case', ({ text, section }) => {
    expect(() => replaceBenchSection(text, section, 'x')).toThrow(BenchMarkerError);
  });
});

describe('docs/performance.md', () => {
  it.each(BENCH_SECTIONS)(
    'has one pair of markers for the %s section, where the bench writes it',
    (section) => {
      // Prepare
      const page = readFileSync(join(ROOT, 'docs', 'performance.md'), 'utf8');

      // Act
      const written = replaceBenchSection(page, section, 'measured');

      // Assess
      expect(written).toContain(`<!-- bench:${section}:start -->\nmeasured\n<!-- bench:${section}:end -->`);
    },
  );
});

/** A script as npm runs it, without npm: node with the tsx loader. */
function script(name: string, args: readonly string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', `scripts/${name}.ts`, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    // No emulator: a script that started its work instead of answering would fail on it, not wait for it.
    env: { ...process.env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9' },
  });
}

describe('npm run demo and npm run bench on the command line', () => {
  it.each(['demo', 'bench'])('%s --help prints its usage and exits 0 without running', (name) => {
    // Act
    const run = script(name, ['--help']);

    // Assess
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(new RegExp(`^Usage: npm run ${name} `));
    expect(run.status).toBe(0);
  });

  it.each([
    { name: 'demo', args: ['--bogus'], says: "npm run demo: unknown option '--bogus' for npm run demo" },
    { name: 'bench', args: ['--bogus'], says: "npm run bench: unknown option '--bogus' for npm run bench" },
    { name: 'bench', args: ['--only=lamda'], says: 'npm run bench: --only: unknown value "lamda"' },
  ])('$name $args is a usage error naming it (exit 64)', ({ name, args, says }) => {
    // Act
    const run = script(name, args);

    // Assess
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(says);
    expect(run.stderr).toContain(`Run npm run ${name} -- --help for the options.`);
    expect(run.status).toBe(64);
  });
});
