import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ESM_REQUIRE_BANNER as INFRA_BANNER } from '../../infra/access-key-detector.ts';
import {
  buildFunction,
  ESM_REQUIRE_BANNER,
  type Metafile,
  outputFiles,
  outputSizes,
} from '../../scripts/build.mjs';
import { rewriteDeclarationSpecifiers } from '../../scripts/package.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DETECTOR = join(ROOT, 'functions', 'detector', 'handler.ts');

const output = (bytes: number, imports: { path: string; kind: string }[], entryPoint?: string) => ({
  bytes,
  imports,
  inputs: {},
  ...(entryPoint ? { entryPoint } : {}),
});

describe('outputFiles', () => {
  it('counts what the entry imports statically, transitively, and leaves what import() loads for later', () => {
    const metafile: Metafile = {
      inputs: {},
      outputs: {
        'dist/x/index.mjs': output(
          10,
          [
            { path: 'dist/x/chunks/shared.mjs', kind: 'import-statement' },
            { path: 'dist/x/chunks/sdk.mjs', kind: 'dynamic-import' },
            { path: 'node:crypto', kind: 'import-statement' },
          ],
          'functions/x/handler.ts',
        ),
        'dist/x/chunks/shared.mjs': output(20, [
          { path: 'dist/x/chunks/deep.mjs', kind: 'import-statement' },
        ]),
        'dist/x/chunks/deep.mjs': output(30, []),
        // import() targets are entry points too in a metafile.
        'dist/x/chunks/sdk.mjs': output(
          400,
          [{ path: 'dist/x/chunks/shared.mjs', kind: 'import-statement' }],
          'sdk',
        ),
        'dist/x/index.mjs.map': output(1000, []),
      },
    };

    expect(outputFiles(metafile)).toEqual({
      entry: 'dist/x/index.mjs',
      eager: ['dist/x/index.mjs', 'dist/x/chunks/shared.mjs', 'dist/x/chunks/deep.mjs'],
      all: [
        'dist/x/index.mjs',
        'dist/x/chunks/shared.mjs',
        'dist/x/chunks/deep.mjs',
        'dist/x/chunks/sdk.mjs',
      ],
    });
    expect(outputSizes(metafile)).toEqual({ eagerBytes: 60, totalBytes: 460, lazyChunks: 1 });
  });
});

describe('detector bundle', () => {
  let outRoot: string;
  let split: Metafile;
  let single: Metafile;

  beforeAll(async () => {
    outRoot = await mkdtemp(join(tmpdir(), 'keywarden-build-test-'));
    split = await buildFunction(DETECTOR, join(outRoot, 'split'), { root: ROOT });
    single = await buildFunction(DETECTOR, join(outRoot, 'single'), { root: ROOT, splitting: false });
  });

  afterAll(async () => {
    await rm(outRoot, { recursive: true, force: true });
  });

  const sdkInputs = (metafile: Metafile, files: readonly string[]) =>
    files
      .flatMap((file) => Object.keys(metafile.outputs[file]?.inputs ?? {}))
      .filter((input) => input.includes('/@aws-sdk/'));

  it('loads the SDK clients at import, where Lambda gives init a full vCPU, and leaves in chunks what Lambda never runs', () => {
    const { eager, all } = outputFiles(split);
    const lazy = all.filter((file) => !eager.includes(file));

    expect(sdkInputs(split, eager)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('@aws-sdk/client-iam/'),
        expect.stringContaining('@aws-sdk/client-securityhub/'),
      ]),
    );
    // STS only finds the account of a local run; on Lambda the credentials come from the environment.
    expect(
      sdkInputs(split, eager).filter((input) => /client-sts|credential-provider-ini/.test(input)),
    ).toEqual([]);
    expect(sdkInputs(split, lazy)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('@aws-sdk/client-sts/'),
        expect.stringContaining('@aws-sdk/credential-provider-ini/'),
      ]),
    );
  });

  it('puts everything in one index.mjs when splitting is off, as CDK NodejsFunction does', async () => {
    const { eager, all } = outputFiles(single);

    expect(eager).toEqual(all);
    expect(sdkInputs(single, eager)).not.toEqual([]);
    expect((await readdir(join(outRoot, 'single'))).sort()).toEqual([
      'index.mjs',
      'index.mjs.map',
      'meta.json',
    ]);
  });
});

describe('ESM_REQUIRE_BANNER', () => {
  it('is the same text in the build script and in infra, which does not import the script', () => {
    expect(INFRA_BANNER).toBe(ESM_REQUIRE_BANNER);
  });
});

describe('rewriteDeclarationSpecifiers', () => {
  it.each([
    ["export { A } from './a.ts';", "export { A } from './a.js';"],
    [
      "import { type B } from '../functions/shared/constants.ts';",
      "import { type B } from '../functions/shared/constants.js';",
    ],
    ['export type C = import("./c.ts").C;', 'export type C = import("./c.js").C;'],
  ])('rewrites the relative specifier in %s', (declaration, expected) => {
    expect(rewriteDeclarationSpecifiers(declaration)).toBe(expected);
  });

  it.each([
    "import * as lambda from 'aws-cdk-lib/aws-lambda';",
    "import { x } from './x.js';",
    "import { y } from 'some-package/y.ts';",
  ])('leaves %s alone', (declaration) => {
    expect(rewriteDeclarationSpecifiers(declaration)).toBe(declaration);
  });
});
