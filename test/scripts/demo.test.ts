import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `npm run demo` without npm: node with the tsx loader, as a separate process. */
function runDemo(env: NodeJS.ProcessEnv, args: readonly string[] = []): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', ...args], {
      cwd: ROOT,
      env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function withoutEmulator(): NodeJS.ProcessEnv {
  const { AWS_ENDPOINT_URL: _endpoint, MOTO_SERVER: _moto, ...env } = process.env;
  return env;
}

describe('npm run demo', () => {
  it('shows detection, exemption, filtering and deactivation, and exits 0, on the emulator in AWS_ENDPOINT_URL', async () => {
    const { code, stdout, stderr } = await runDemo({
      ...withoutEmulator(),
      AWS_ENDPOINT_URL: inject('motoEndpoint'),
    });

    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(
      /Event pattern of KeyWarden\/\w+ in the synthesized template:\n {2}\{"source":\["aws\.iam"\]/,
    );
    // Pass 1, detect only.
    expect(stdout).toMatch(
      /CreateAccessKey +alice-\w+ +creates a second access key → violation, action none/,
    );
    expect(stdout).toMatch(/CreateAccessKey +alice-\w+ +tries a third key; IAM refuses: not delivered/);
    expect(stdout).toMatch(/FAILED +ACTIVE +IAM user alice-\w+ has 2 active access keys/);
    expect(stdout).toMatch(/WARNING +ACTIVE +IAM user carol-\w+ has 2 active access keys \(exempt/);
    // Pass 2, deactivate.
    expect(stdout).toMatch(
      /CreateAccessKey +alice-\w+ +creates a second access key → violation, action deactivated/,
    );
    expect(stdout).toMatch(
      /UpdateAccessKey +alice-\w+ +KeyWarden deactivated this key → skipped \(own-remediation\)/,
    );
    expect(stdout).toMatch(/PASSED +ACTIVE +KeyWarden deactivated access key AKIA\w+ of IAM user alice-\w+/);
    expect(stdout).toMatch(/alice-\w+ +AKIA\w+ Inactive, AKIA\w+ Active\n/);
    // Attribution: mallory mints erin a second key; KEEP_KEY=auto switches that one off in pass 2.
    expect(stdout).toMatch(
      /FAILED +ACTIVE +HIGH Access key (AKIA\w+) of IAM user erin-\w+ was created by another principal: arn:aws:iam::\d{12}:user\/mallory\n/,
    );
    expect(stdout).toMatch(
      /PASSED +ACTIVE +HIGH Access key AKIA\w+ of IAM user erin-\w+ was created by another principal: \S+ \(key now inactive\)\n +from [\d.]+, key inactive \(deactivated by KeyWarden's CIS 1\.13 remediation\)/,
    );
    expect(stdout).toMatch(/erin-\w+ +AKIA\w+ Active, AKIA\w+ Inactive\n/);
    // Pass 3: a rotation in progress is protected (the old key in use, with its usage evidence), then completed.
    expect(stdout).toMatch(/CreateAccessKey frank-\w+ creates AKIA\w+ → violation, action in-use\n/);
    expect(stdout).toMatch(
      /KEY_IN_USE: (AKIA\w+) is in use \(\1 last used \S+ by sts in us-east-1 \(CloudTrail: 3 management events in us-east-1 over the last 7 days, .*; complete; source IPs: 127\.0\.0\.1 \(3\); user agents: payments-api\/3\.1 aws-sdk-js\/3 \(3\)/,
    );
    expect(stdout).toMatch(/Access keys in IAM: AKIA\w+ Active, AKIA\w+ Active\n/);
    expect(stdout).toMatch(/sweep check of frank-\w+ → violation, action deactivated\n/);
    expect(stdout).toMatch(/Access keys in IAM: AKIA\w+ Inactive, AKIA\w+ Active\n/);
    expect(stdout).toContain('every outcome as expected');
    // The handler's JSON logs are silenced.
    expect(stdout).not.toContain('"level"');
  }, 180_000);

  it('with --organization, lands each member event in that member’s own hub and deactivates inside a member', async () => {
    const { code, stdout, stderr } = await runDemo(
      { ...withoutEmulator(), AWS_ENDPOINT_URL: inject('motoEndpoint') },
      ['--organization'],
    );

    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/111111111111 +CreateAccessKey +alice-\w+ +→ violation, action none/);
    expect(stdout).toMatch(/222222222222 +CreateAccessKey +bob-\w+ +→ violation, action none/);
    expect(stdout).toMatch(/222222222222 +CreateAccessKey +bob-\w+ +→ violation, action deactivated/);
    expect(stdout).toMatch(/222222222222 +UpdateAccessKey +bob-\w+ +→ skipped \(own-remediation\)/);
    // Each member's finding in its own hub, named for that account; none in the central hub.
    expect(stdout).toMatch(
      /111111111111 \(member \) +FAILED +AwsAccountId 111111111111 +IAM user alice-\w+ has 2/,
    );
    expect(stdout).toMatch(
      /222222222222 \(member \) +PASSED +AwsAccountId 222222222222 +KeyWarden deactivated/,
    );
    expect(stdout.match(/123456789012 \(central\) +none/g)).toHaveLength(2);
    // Coverage: both members seen, then member A's disabled forwarding rule reported in A's own hub.
    expect(stdout).toMatch(/111111111111 +coverage finding in 111111111111's hub: PASSED EVENTS_FORWARDED/);
    expect(stdout).toMatch(/111111111111 +coverage finding in 111111111111's hub: FAILED RULE_DISABLED/);
    expect(stdout.match(/222222222222 +coverage finding in 222222222222's hub: PASSED/g)).toHaveLength(2);
    expect(stdout).toMatch(/MembersBlind = 0\n[\s\S]*MembersBlind = 1\n/);
    expect(stdout).toContain('every outcome as expected');
  }, 180_000);

  it.each([
    {
      // Nor in a virtual environment, and without Python none can be created.
      name: 'moto server is not on the PATH',
      env: { PATH: '/nonexistent', KEYWARDEN_PYTHON_VENV: '/nonexistent/venv' },
      message: 'moto server was not found: moto_server not found, and `python3 -m venv .venv` failed',
    },
    {
      name: 'MOTO_SERVER names a command that does not exist',
      env: { MOTO_SERVER: '/nonexistent/moto_server' },
      message: 'moto server could not be run with `/nonexistent/moto_server`',
    },
  ])(
    'fails with exit code 1 and a clear message when $name',
    async ({ env, message }) => {
      const { code, stdout, stderr } = await runDemo({ ...withoutEmulator(), ...env });

      expect(code).toBe(1);
      expect(stderr).toContain(`demo failed: ${message}`);
      expect(stderr).toContain('AWS_ENDPOINT_URL');
      expect(stdout).toBe('');
    },
    120_000,
  );
});
