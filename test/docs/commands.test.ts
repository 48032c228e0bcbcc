/**
 * Every shell command README.md and docs/*.md show works as written. Each ```sh block carries a marker on the line
 * before it that says how it is checked; a block without one fails this test, so none is skipped silently:
 *
 * - `<!-- sh: run -->` (or `run exit=N`): each line runs with bash in a fresh copy of the repository (its tracked
 *   and new files, this checkout's node_modules), with AWS_ENDPOINT_URL pointing at a moto server of its own and
 *   test credentials, and must exit 0 (or N). A command shown twice runs once.
 * - `<!-- sh: help -->`: a long run (the whole bench, a scan that writes); each line runs the same way with
 *   `--help` added (after `--` for an npm script), which checks its options and must print a usage and exit 0.
 * - `<!-- sh: ci -->`: what `.ci/run` runs on a fresh clone (`npm ci`, `npm test`): each must be a command there.
 * - `<!-- sh: aws -->`: needs an AWS account (cdk deploy, bootstrap, the AWS CLI): the syntax is checked with
 *   `bash -n`, and the context of a `cdk` command with the app's own readers, which refuse a bad key or value.
 * - `<!-- sh: consumer -->`: runs in a CDK app that installed the package: the tarball is the one `npm pack` makes,
 *   and `npx keywarden` command lines parse (test/package/consumer.test.ts runs the packaged CLI through npx).
 */

import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../functions/cli/args.ts';
import {
  CONTEXT_KEYS,
  type ContextKey,
  organizationFromContext,
  stackPropsFromContext,
} from '../../infra/context.ts';
import { type MotoServer, startMoto } from '../support/moto.ts';
import { documentationPages, ROOT, readPage, type ShellBlock, shellBlocks } from './markdown.ts';

const blocks = documentationPages().flatMap((page) => shellBlocks(page, readPage(page)));
const KINDS = /^(run( exit=\d+)?|help|ci|aws|consumer)$/;
const commandsOf = (kind: RegExp): { command: string; where: string; exit: number }[] => {
  const seen = new Set<string>();
  return blocks
    .filter((block) => kind.test(block.marker ?? ''))
    .flatMap((block) =>
      block.commands.map((command) => ({
        command,
        where: `${block.page}:${block.line}`,
        exit: Number(/exit=(\d+)/.exec(block.marker ?? '')?.[1] ?? 0),
      })),
    )
    .filter(({ command }) => !seen.has(command) && seen.add(command) !== undefined);
};
const where = (block: ShellBlock): string => `${block.page}:${block.line}`;

describe('the shell blocks of the README and docs', () => {
  it('are there, each with a marker that says how it is checked', () => {
    expect(blocks.length).toBeGreaterThan(10);
    expect(blocks.filter((block) => !KINDS.test(block.marker ?? '')).map(where)).toEqual([]);
    expect(blocks.filter((block) => block.commands.length === 0).map(where)).toEqual([]);
  });

  it('show only commands of .ci/run as what CI runs', () => {
    const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
    for (const { command, where: at } of commandsOf(/^ci$/)) {
      expect(ci, `${at}: ${command}`).toMatch(
        new RegExp(`^(step )?${command.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( |$)`, 'm'),
      );
    }
  });

  it.each(commandsOf(/^aws$/))(
    '$where: $command is valid shell, with context the app accepts',
    ({ command }) => {
      // Assess: bash parses it.
      expect(spawnSync('bash', ['-n', '-c', command], { encoding: 'utf8' }).stderr).toBe('');
      if (!command.startsWith('npx cdk ')) {
        expect(command).toMatch(/^aws [a-z0-9-]+ [a-z0-9-]+ /);
        return;
      }
      expect(command).toMatch(/^npx cdk (synth|deploy|bootstrap|destroy)\b/);
      const context = Object.fromEntries(
        [...command.matchAll(/(?:^| )-c ([^= ]+)=(\S+)/g)].map((match) => [match[1], match[2]]),
      );
      expect(CONTEXT_KEYS).toEqual(expect.arrayContaining(Object.keys(context)));
      const lookup = (key: ContextKey): unknown => context[key];
      expect(() => stackPropsFromContext(lookup, {})).not.toThrow();
      expect(() => organizationFromContext(lookup)).not.toThrow();
    },
  );

  it.each(commandsOf(/^consumer$/))('$where: $command is what a consuming app runs', ({ command }) => {
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string })
      .version;
    if (command.startsWith('npm install ')) {
      expect(command).toBe(`npm install ./keywarden-${version}.tgz`);
      return;
    }
    expect(command).toMatch(/^npx keywarden /);
    const parsed = parseCommandLine(command.split(' ').slice(2), {}, false);
    expect(parsed.kind, JSON.stringify(parsed)).not.toBe('usage-error');
  });
});

describe('the commands the docs show, run in a fresh copy of the repository', { timeout: 900_000 }, () => {
  let copy: string;
  let moto: MotoServer;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    copy = mkdtempSync(join(tmpdir(), 'keywarden-docs-'));
    const files = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: ROOT,
      encoding: 'utf8',
    })
      .stdout.split('\0')
      .filter((file) => file !== '' && existsSync(join(ROOT, file)));
    for (const file of files) {
      mkdirSync(dirname(join(copy, file)), { recursive: true });
      copyFileSync(join(ROOT, file), join(copy, file));
    }
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
    moto = await startMoto();
    env = {
      ...process.env,
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      AWS_PROFILE: undefined,
    };
  }, 300_000);

  afterAll(async () => {
    await moto?.stop();
    if (copy !== undefined) rmSync(copy, { recursive: true, force: true });
  });

  /** `command` in its own process group, so that a timeout ends what it started too, not only bash. */
  const bash = (command: string): Promise<{ status: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve, reject) => {
      const child = spawn('bash', ['-c', command], { cwd: copy, env, detached: true });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const killGroup = (): void => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // The group has already ended.
        }
      };
      const timer = setTimeout(killGroup, 600_000);
      child.on('error', reject);
      child.on('close', (status) => {
        clearTimeout(timer);
        killGroup();
        resolve({ status, stdout, stderr });
      });
    });

  it.each(commandsOf(/^run/))('$where: $command exits $exit', async ({ command, exit }) => {
    const result = await bash(command);
    expect(result.status, `${command}\n${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`).toBe(
      exit,
    );
  });

  it.each(commandsOf(/^help$/))(
    '$where: $command takes its options and answers --help',
    async ({ command }) => {
      const result = await bash(
        `${command}${command.startsWith('npm run ') && !command.includes(' -- ') ? ' --' : ''} --help`,
      );
      expect(result.status, `${command}\n${result.stdout}\n${result.stderr}`).toBe(0);
      expect(result.stdout).toMatch(/^(> .*\n|\n)*Usage: /);
    },
  );
});
