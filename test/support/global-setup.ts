/** Starts one moto server for the whole run; test files reach it through `inject('motoEndpoint')`. */

import type { TestProject } from 'vitest/node';
import { ensurePythonTools } from '../../scripts/lib/python-tools.mjs';
import { type MotoServer, startMoto } from './moto.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    motoEndpoint: string;
  }
}

let moto: MotoServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  // moto server and cfn-lint, from the PATH or .venv/ (created here, once, before any test file runs).
  ensurePythonTools();
  moto = await startMoto();
  project.provide('motoEndpoint', moto.endpoint);
}

export async function teardown(): Promise<void> {
  await moto?.stop();
}
