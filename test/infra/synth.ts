/** Synthesizes KeyWarden stacks for the infra tests, each variant once. */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { KeyWardenStack, type KeyWardenStackProps } from '../../infra/keywarden-stack.ts';

export interface SynthesizedVariant {
  readonly app: App;
  readonly stack: KeyWardenStack;
  readonly template: Template;
  /** Every stack of the app (the forwarder too, when there is one). */
  readonly stacks: readonly Stack[];
  /** The synthesized template files, for cfn-lint. */
  readonly templateFiles: readonly string[];
  readonly assemblyDirectory: string;
}

const outdirs: string[] = [];

/** Deletes the output directories of every app {@link testApp} made; call it from `afterAll`. */
export function removeTestApps(): void {
  for (const outdir of outdirs.splice(0)) rmSync(outdir, { recursive: true, force: true });
}

/**
 * An app in its own temporary directory. Bundling (esbuild, seconds per function) runs only when asked: without
 * it, CDK stages a placeholder asset and the template is otherwise identical.
 */
export function testApp(options: { readonly bundle?: boolean } = {}): App {
  const outdir = mkdtempSync(path.join(tmpdir(), 'keywarden-cdk-'));
  outdirs.push(outdir);
  return new App({
    outdir,
    stackTraces: false,
    context: options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] },
  });
}

/** Builds a KeyWardenStack named `KeyWarden` with `props` and synthesizes the app once. */
export function synthesizeVariant(
  props: KeyWardenStackProps,
  options: { readonly bundle?: boolean } = {},
): SynthesizedVariant {
  const app = testApp(options);
  const stack = new KeyWardenStack(app, 'KeyWarden', props);
  const assembly = app.synth();
  return {
    app,
    stack,
    template: Template.fromStack(stack),
    stacks: app.node.children.filter((child) => Stack.isStack(child)),
    templateFiles: assembly.stacks.map((artifact) => path.join(assembly.directory, artifact.templateFile)),
    assemblyDirectory: assembly.directory,
  };
}

/**
 * The setting errors a construct reported through CDK's annotations, as `cdk synth` prints them (one line each,
 * `[Error at /Stack/Construct] message`), without synthesizing.
 */
export function settingErrorsOf(construct: IConstruct): string[] {
  return construct.node.metadata
    .filter((entry) => entry.type === 'aws:cdk:error')
    .map((entry) => String(entry.data));
}
