import { describe, expect, it } from 'vitest';
import { main } from '../../functions/cli/main.ts';

function io() {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: {
      stdout: { write: (text: string) => (out.stdout += text), isTTY: false },
      stderr: { write: (text: string) => (out.stderr += text), isTTY: false },
      env: {},
    },
  };
}

describe('main', () => {
  it.each([
    { argv: ['--help'], code: 0, stdout: /^Usage: keywarden scan \[options\]/ },
    { argv: ['scan', '-h'], code: 0, stdout: /64 +usage error/ },
    { argv: ['--help'], code: 0, stdout: /^ +keywarden scan --organization --role-name NAME \[options\]$/m },
    { argv: ['--version'], code: 0, stdout: /^keywarden \d+\.\d+\.\d+\n$/ },
    { argv: ['--help'], code: 0, stdout: /^Run keywarden COMMAND --help for a command's options/m },
    {
      argv: ['scan', '--help'],
      code: 0,
      stdout: /^Usage: keywarden scan \[options\]\n(?![\s\S]*keywarden restore)/,
    },
    { argv: ['restore', '--help'], code: 0, stdout: /^Usage: keywarden restore USER/ },
  ])('prints to stdout and exits $code for $argv', async ({ argv, code, stdout }) => {
    // Prepare
    const { out, io: streams } = io();

    // Act
    const exit = await main(argv, streams);

    // Assess
    expect(exit).toBe(code);
    expect(out.stdout).toMatch(stdout);
    expect(out.stderr).toBe('');
  });

  it.each([
    { argv: [], says: 'missing command' },
    { argv: ['scan', '--yes'], says: '--yes only confirms --remediate' },
    { argv: ['scan', '--keep-key', 'first'], says: '--keep-key "first" is not allowed' },
    { argv: ['scan', '--bogus'], says: "unknown option '--bogus' for keywarden scan\n" },
    { argv: ['scan', '--region', 'mars-1'], says: '--region "mars-1" is not an AWS region code' },
  ])('exits 64 with the problem and a pointer to --help on stderr for $argv', async ({ argv, says }) => {
    // Prepare
    const { out, io: streams } = io();

    // Act
    const exit = await main(argv, streams);

    // Assess
    expect(exit).toBe(64);
    expect(out.stdout).toBe('');
    expect(out.stderr).toContain(`keywarden: ${says}`);
    expect(out.stderr).toMatch(/\nRun keywarden --help for the options\.\n$/);
  });
});
