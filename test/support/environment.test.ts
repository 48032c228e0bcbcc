/** The environment vitest gives the test processes, which every process a test starts inherits. */

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the test environment', () => {
  it('keeps the SDK’s Node-version warning out of the output of a process that builds a client', () => {
    // Act: a plain child process, as the CLI, demo and benchmark tests start them.
    const child = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const { STSClient } = await import('@aws-sdk/client-sts'); new STSClient({ region: 'us-east-1' });",
      ],
      { cwd: ROOT, env: process.env, encoding: 'utf8' },
    );

    // Assess
    expect(child.status, child.stderr).toBe(0);
    expect(child.stderr).not.toContain('NodeVersionSupportWarning');
  });
});
