/**
 * The npm package as a consumer gets it: `npm pack` (which runs the prepack build), then a fresh CDK app that
 * depends on aws-cdk-lib, constructs and the tarball only, installed from the local npm cache where it can be.
 * The apps synthesize with no esbuild anywhere they could find it, and the packaged CLI runs through npx.
 */

import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const repoPackage = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const installed = (name: string): string =>
  (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string })
    .version;

// A PATH with node and the system tools only: not this repository's node_modules/.bin, where esbuild is.
const CONSUMER_PATH = [dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':');
const consumerEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { HOME: process.env.HOME, PATH: CONSUMER_PATH, ...extra };
  // The npm cache and registry this machine is configured with, so the install can be served from the cache.
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_config_(cache|registry|userconfig)$/i.test(key)) env[key] = value;
  }
  return env;
};

function run(command: string, args: string[], cwd: string, env = consumerEnv()): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 600_000 });
  if (result.error !== undefined) throw result.error;
  return result;
}

function succeed(command: string, args: string[], cwd: string, env = consumerEnv()): string {
  const result = run(command, args, cwd, env);
  expect(result.status, `${command} ${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

function directorySize(path: string): number {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.size;
  return readdirSync(path).reduce((sum, entry) => sum + directorySize(join(path, entry)), 0);
}

const CJS_APP = `const { App, Stack } = require('aws-cdk-lib');
const { AccessKeyDetector } = require('keywarden');

const app = new App();
const stack = new Stack(app, 'ConsumerCjs', { env: { region: 'us-east-1' } });
new AccessKeyDetector(stack, 'KeyWarden', { remediationMode: 'deactivate' });
app.synth();
`;

const ESM_APP = `import { App, Stack } from 'aws-cdk-lib';
import { AccessKeyDetector, KeyWardenStack } from 'keywarden';

const app = new App();
const stack = new Stack(app, 'ConsumerEsm', { env: { region: 'us-east-1' } });
new AccessKeyDetector(stack, 'KeyWarden');
new KeyWardenStack(app, 'ConsumerKeyWardenStack', { env: { region: 'eu-west-1' } });
app.synth();
`;

// A prop JavaScript does not type-check: cdk synth must say what is wrong in a line, not in a stack trace.
const BAD_PROP_APP = `const { App, Stack } = require('aws-cdk-lib');
const { AccessKeyDetector } = require('keywarden');

const app = new App();
const stack = new Stack(app, 'ConsumerBadProp', { env: { region: 'us-east-1' } });
new AccessKeyDetector(stack, 'KeyWarden', { remediationMode: 'delete' });
app.synth();
`;
const CDK_CLI = join(ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk');

// As `cdk init app --language typescript` writes it: a CommonJS package, module NodeNext, skipLibCheck.
const TS_APP = `import { App, Stack } from 'aws-cdk-lib';
import { AccessKeyDetector, type AccessKeyDetectorProps } from 'keywarden';

const app = new App();
const stack = new Stack(app, 'ConsumerTs');
const props: AccessKeyDetectorProps = { remediationMode: 'dry-run', keepKey: 'oldest' };
const detector = new AccessKeyDetector(stack, 'KeyWarden', props);
export const topicArn: string = detector.alarmTopic.topicArn;
// @ts-expect-error the declarations must reject a mode that does not exist (this line fails if they are any)
new AccessKeyDetector(stack, 'Typo', { remediationMode: 'delete' });
`;
const TS_CONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['es2022'],
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    isolatedModules: true,
    types: [],
  },
  files: ['app.ts'],
};

interface TemplateResource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
}

// Each step loads aws-cdk-lib or the TypeScript compiler in a new process: seconds alone, minutes on a busy machine.
describe('the npm package in a fresh CDK app', { timeout: 600_000 }, () => {
  let work: string;
  let tarball: string;
  let app: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'keywarden-package-'));
    // A copy of the checkout's sources (tracked, or new and not ignored) sharing its node_modules, so the build
    // neither writes lib/ into the checkout nor races another build there.
    const source = join(work, 'source');
    const files = succeed(
      'git',
      ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
      ROOT,
      process.env,
    )
      .split('\0')
      .filter((file) => file !== '' && existsSync(join(ROOT, file)));
    for (const file of files) {
      mkdirSync(dirname(join(source, file)), { recursive: true });
      copyFileSync(join(ROOT, file), join(source, file));
    }
    symlinkSync(join(ROOT, 'node_modules'), join(source, 'node_modules'));
    // npm pack runs prepack, which builds lib/ (library, CLI, Lambda bundles).
    succeed('npm', ['pack', '--pack-destination', work, '--loglevel=error'], source, process.env);
    const packed = readdirSync(work).filter((file) => file.endsWith('.tgz'));
    expect(packed).toEqual([`keywarden-${repoPackage.version}.tgz`]);
    tarball = join(work, packed[0] as string);

    app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(
      join(app, 'package.json'),
      `${JSON.stringify({ name: 'consumer', version: '0.1.0', private: true }, null, 2)}\n`,
    );
    writeFileSync(join(app, 'app.js'), CJS_APP);
    writeFileSync(join(app, 'app.mjs'), ESM_APP);
    writeFileSync(join(app, 'app.ts'), TS_APP);
    writeFileSync(join(app, 'bad-prop.js'), BAD_PROP_APP);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(TS_CONFIG, null, 2));
    // The versions this repository tests against, from the cache `npm ci` filled; the registry only if missing.
    succeed(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        tarball,
        `aws-cdk-lib@${installed('aws-cdk-lib')}`,
        `constructs@${installed('constructs')}`,
      ],
      app,
    );
  }, 900_000);

  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('ships compiled JavaScript, declarations, the CLI and the prebuilt bundles, and no sources or tests', () => {
    const files = run('tar', ['tzf', tarball], work).stdout.split('\n').filter(Boolean);
    expect(files).toEqual(
      expect.arrayContaining([
        'package/package.json',
        'package/README.md',
        'package/LICENSE',
        'package/lib/infra/index.js',
        'package/lib/infra/index.d.ts',
        'package/lib/functions/cli/bin.js',
        'package/lib/lambda/detector/index.mjs',
        'package/lib/lambda/sweep/index.mjs',
      ]),
    );
    const unexpected = files.filter(
      (file) =>
        !/^package\/(package\.json|README\.md|LICENSE|lib\/.+\.(js|d\.ts|mjs|mjs\.map))$/.test(file) ||
        /\.ts$/.test(file.replace(/\.d\.ts$/, '')),
    );
    expect(unexpected).toEqual([]);
    const declarations = files.filter((file) => file.endsWith('.d.ts'));
    const extracted = join(work, 'extracted');
    mkdirSync(extracted);
    succeed('tar', ['xzf', tarball, '-C', extracted], work);
    for (const file of declarations) {
      // A consumer's tsc rejects `.ts` import specifiers in declarations.
      expect(readFileSync(join(extracted, file), 'utf8'), file).not.toMatch(/from '\.{1,2}\/[^']*\.ts'/);
    }
    const bin = readFileSync(join(extracted, 'package/lib/functions/cli/bin.js'), 'utf8');
    expect(bin.startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('declares aws-cdk-lib and constructs as peers, and no build tool as a dependency', () => {
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules', 'keywarden', 'package.json'), 'utf8'));
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
    expect(Object.keys(manifest.dependencies)).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/^(tsx|esbuild|typescript|aws-cdk-lib|constructs)$/)]),
    );
    expect(manifest.exports['.']).toEqual({
      types: './lib/infra/index.d.ts',
      default: './lib/infra/index.js',
    });
    // One copy of aws-cdk-lib: the app's own.
    expect(existsSync(join(app, 'node_modules', 'keywarden', 'node_modules', 'aws-cdk-lib'))).toBe(false);
    const consumer = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
    expect(Object.keys(consumer.dependencies).sort()).toEqual(['aws-cdk-lib', 'constructs', 'keywarden']);
    console.info(
      `keywarden tarball ${statSync(tarball).size} B; consumer node_modules ${directorySize(join(app, 'node_modules'))} B, of which keywarden ${directorySize(join(app, 'node_modules', 'keywarden'))} B`,
    );
  });

  it('finds no esbuild from the app, neither as a module nor on the PATH', () => {
    expect(run('node', ['-e', "require.resolve('esbuild')"], app).status).not.toBe(0);
    expect(run('sh', ['-c', 'command -v esbuild'], app).status).not.toBe(0);
  });

  it('synthesizes a CommonJS app with the prebuilt Lambda code', () => {
    succeed('node', ['app.js'], app, consumerEnv({ CDK_OUTDIR: 'cdk.out.cjs' }));
    const outdir = join(app, 'cdk.out.cjs');
    const template = JSON.parse(readFileSync(join(outdir, 'ConsumerCjs.template.json'), 'utf8')) as {
      Resources: Record<string, TemplateResource>;
    };
    const functions = Object.values(template.Resources).filter(
      (resource) => resource.Type === 'AWS::Lambda::Function',
    );
    expect(functions).toHaveLength(2);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({ Handler: 'index.handler', Runtime: 'nodejs24.x' });
      const { S3Key } = fn.Properties.Code as { S3Key: string };
      const assetHash = S3Key.replace(/\.zip$/, '');
      // The staged asset is the package's bundle: an ESM entry with the lazily loaded SDK chunks beside it.
      expect(readdirSync(join(outdir, `asset.${assetHash}`)).sort()).toEqual([
        'chunks',
        'index.mjs',
        'index.mjs.map',
      ]);
    }
    // The deactivate mode reached the function's environment and its policy.
    expect(JSON.stringify(template)).toContain('"REMEDIATION_MODE":"deactivate"');
    expect(JSON.stringify(template)).toContain('iam:UpdateAccessKey');
  });

  it('deploys bundles that load as Lambda handlers', () => {
    const outdir = join(app, 'cdk.out.cjs');
    const assets = readdirSync(outdir).filter((entry) => entry.startsWith('asset.'));
    expect(assets).toHaveLength(2);
    for (const asset of assets) {
      const loaded = succeed(
        'node',
        [
          '--input-type=module',
          '-e',
          `const m = await import(${JSON.stringify(join(outdir, asset, 'index.mjs'))}); console.log(typeof m.handler);`,
        ],
        app,
        consumerEnv({ AWS_REGION: 'us-east-1' }),
      );
      expect(loaded.trim()).toBe('function');
    }
  });

  it('synthesizes an ESM app, KeyWardenStack with its forwarder included', () => {
    succeed('node', ['app.mjs'], app, consumerEnv({ CDK_OUTDIR: 'cdk.out.esm' }));
    const outdir = join(app, 'cdk.out.esm');
    expect(
      readdirSync(outdir)
        .filter((file) => file.endsWith('.template.json'))
        .sort(),
    ).toEqual([
      'ConsumerEsm.template.json',
      'ConsumerKeyWardenStack-IamEventForwarder.template.json',
      'ConsumerKeyWardenStack.template.json',
    ]);
  });

  it('ends cdk synth of a JavaScript app with a wrong prop on the message, without a stack trace', () => {
    // Act
    const result = run(
      'node',
      [CDK_CLI, 'synth', '--app', 'node bad-prop.js', '--output', 'cdk.out.bad', '--no-notices'],
      app,
    );

    // Assess
    const output = result.stdout + result.stderr;
    expect(result.status, output).not.toBe(0);
    expect(output).toMatch(
      /^.*remediationMode "delete" is not allowed; use one of: off, dry-run, deactivate.*$/m,
    );
    expect(output).not.toMatch(/^\s+at /m);
    expect(output).not.toContain('SettingError');
  });

  it('type-checks a TypeScript app as cdk init writes it (CommonJS, module NodeNext)', () => {
    const result = run('node', [TSC, '-p', 'tsconfig.json'], app);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('runs the keywarden CLI through npx', () => {
    expect(succeed('npx', ['keywarden', '--version'], app).trim()).toBe(`keywarden ${repoPackage.version}`);
    const help = succeed('npx', ['keywarden', 'scan', '--help'], app);
    expect(help).toMatch(/^Usage: keywarden scan \[options\]/);
    expect(help).toContain('--full');
  });
});
