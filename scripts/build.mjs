#!/usr/bin/env node
/**
 * Bundles the Lambda entry points into dist/<name>/index.mjs with the settings the CDK NodejsFunction uses in
 * infra/access-key-detector.ts (ESM, minified, source maps, SDK bundled, mainFields module,main, a createRequire
 * banner so bundled CommonJS can still call require()), plus code splitting: what is reached only through
 * `import()` (STS for local runs, the SDK's other credential providers) goes to chunks under dist/<name>/chunks/
 * and loads only if used.
 * NodejsFunction cannot split (it passes esbuild --outfile), so infra runs this script in its `afterBundling`
 * hook to replace NodejsFunction's single file with the split build.
 *
 * Usage: node scripts/build.mjs [--analyze] [--single-file] [--entry <handler.ts> --outdir <dir>]
 *   --analyze              print what each bundle pulls in (esbuild metafile analysis)
 *   --single-file          build one file per function, as NodejsFunction does
 *   --entry F --outdir D   build only F into D (e.g. from a NodejsFunction `afterBundling` command hook)
 */

import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Same text as ESM_REQUIRE_BANNER in infra/access-key-detector.ts (a test compares them). */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __keywardenCreateRequire } from 'node:module'; const require = __keywardenCreateRequire(import.meta.url);";

/** The Lambda entry points, the detector's and the sweep's (an entry missing from the checkout is left out). */
export function entryPoints(root = ROOT) {
  return [
    { name: 'detector', entry: join(root, 'functions', 'detector', 'handler.ts') },
    { name: 'sweep', entry: join(root, 'functions', 'sweep', 'handler.ts') },
  ].filter(({ entry }) => existsSync(entry));
}

/**
 * esbuild options for one function, mirroring NodejsFunction's `bundling` in infra/ (target node22, the oldest
 * runtime KeyWarden supports; the output runs as is on the deployed nodejs24.x). With `splitting`, dynamic
 * imports become chunks; without, everything is one index.mjs.
 */
export function buildOptions(entry, outdir, { splitting = true, root = ROOT } = {}) {
  return {
    // Metafile paths are relative to this directory.
    absWorkingDir: root,
    entryPoints: { index: entry },
    outdir,
    splitting,
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: true,
    sourcemap: true,
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    // bundleAwsSDK: true in infra: nothing is external, the SDK version is the one tested here.
    metafile: true,
    logLevel: 'warning',
  };
}

/** Builds one function into `outdir` (emptied first); returns esbuild's metafile (also written to meta.json). */
export async function buildFunction(entry, outdir, { writeMetafile = true, ...options } = {}) {
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const result = await esbuild.build(buildOptions(entry, outdir, options));
  if (writeMetafile) await writeFile(join(outdir, 'meta.json'), JSON.stringify(result.metafile));
  return result.metafile;
}

/** Builds every entry point into `<outRoot>/<name>/`; returns [{ name, outdir, metafile }]. */
export async function build({
  root = ROOT,
  outRoot = join(root, 'dist'),
  splitting = true,
  writeMetafile = true,
} = {}) {
  const built = [];
  for (const { name, entry } of entryPoints(root)) {
    const outdir = join(outRoot, name);
    built.push({
      name,
      outdir,
      metafile: await buildFunction(entry, outdir, { splitting, root, writeMetafile }),
    });
  }
  return built;
}

/**
 * From a metafile: the .mjs files loaded at import (the entry and the chunks it imports statically, transitively)
 * and every .mjs file (adding what loads later through `import()`), as paths relative to the working directory.
 */
export function outputFiles(metafile) {
  const outputs = Object.fromEntries(
    Object.entries(metafile.outputs).filter(([file]) => file.endsWith('.mjs')),
  );
  // Chunks reached by import() count as entry points too; the function's own entry is index.mjs.
  const entry = Object.keys(outputs).find((file) => /(^|\/)index\.mjs$/.test(file));
  const eager = new Set();
  const visit = (file) => {
    if (eager.has(file) || outputs[file] === undefined) return;
    eager.add(file);
    for (const imported of outputs[file].imports)
      if (imported.kind === 'import-statement') visit(imported.path);
  };
  if (entry !== undefined) visit(entry);
  return { entry, eager: [...eager], all: Object.keys(outputs) };
}

/** Bytes loaded at import, bytes of all .mjs outputs, and how many chunks load lazily. */
export function outputSizes(metafile) {
  const { eager, all } = outputFiles(metafile);
  const bytes = (files) => files.reduce((sum, file) => sum + metafile.outputs[file].bytes, 0);
  return { eagerBytes: bytes(eager), totalBytes: bytes(all), lazyChunks: all.length - eager.length };
}

function argument(name) {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const splitting = !process.argv.includes('--single-file');
  const entry = argument('--entry');
  const outdir = argument('--outdir');
  if ((entry === undefined) !== (outdir === undefined)) {
    console.error(
      '--entry and --outdir go together: node scripts/build.mjs --entry <handler.ts> --outdir <dir>',
    );
    process.exit(2);
  }
  const built =
    entry !== undefined && outdir !== undefined
      ? [
          {
            name: entry,
            outdir,
            // This output is a Lambda asset: no metafile in it.
            metafile: await buildFunction(entry, outdir, {
              splitting,
              root: process.cwd(),
              writeMetafile: false,
            }),
          },
        ]
      : await build({ splitting });
  for (const { name, outdir, metafile } of built) {
    const { eagerBytes, totalBytes, lazyChunks } = outputSizes(metafile);
    const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
    console.log(
      `${name}: ${join(outdir, 'index.mjs').replace(ROOT, '')}: ${kib(eagerBytes)} loaded at import` +
        (lazyChunks > 0 ? `, ${kib(totalBytes)} in all with ${lazyChunks} lazily loaded chunks` : ''),
    );
    if (process.argv.includes('--analyze')) console.log(await esbuild.analyzeMetafile(metafile));
  }
}
