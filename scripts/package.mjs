#!/usr/bin/env node
/**
 * Builds what the npm package ships, into lib/ (npm pack runs it as `prepack`):
 * - lib/infra/ and lib/functions/: the construct library and the CLI, compiled by tsc (tsconfig.build.json) to
 *   ESM JavaScript with .d.ts declarations; the package root is lib/infra/index.js;
 * - lib/lambda/<name>/: each function's split bundle (scripts/build.mjs), which the compiled construct deploys
 *   with lambda.Code.fromAsset, so a consumer's synth runs no bundler.
 *
 * Usage: node scripts/package.mjs
 */

import { spawnSync } from 'node:child_process';
import { chmod, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, outputSizes } from './build.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LIB = join(ROOT, 'lib');

/**
 * tsc rewrites `./x.ts` to `./x.js` in the JavaScript it emits, but keeps `.ts` in declarations; a consumer's
 * tsc without allowImportingTsExtensions rejects those, so the declarations get the same rewrite.
 */
export function rewriteDeclarationSpecifiers(text) {
  return text.replace(/((?:from|import)\s*\(?\s*)(['"])(\.{1,2}\/[^'"]*?)\.ts\2/g, '$1$2$3.js$2');
}

async function declarationFiles(directory) {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await rm(LIB, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const compiled = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (compiled.status !== 0) process.exit(compiled.status ?? 1);
  for (const file of await declarationFiles(LIB)) {
    await writeFile(file, rewriteDeclarationSpecifiers(await readFile(file, 'utf8')));
  }
  await chmod(join(LIB, 'functions', 'cli', 'bin.js'), 0o755);

  for (const { name, metafile } of await build({ outRoot: join(LIB, 'lambda'), writeMetafile: false })) {
    const { eagerBytes, totalBytes } = outputSizes(metafile);
    console.log(
      `lib/lambda/${name}: ${(eagerBytes / 1024).toFixed(1)} KiB loaded at import, ${(totalBytes / 1024).toFixed(1)} KiB in all`,
    );
  }
}
