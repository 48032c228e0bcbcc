/** Starts one moto server for the whole run; test files reach it through `inject('motoEndpoint')`. */

import type { TestProject } from 'vitest/node';
import { type MotoServer, startMoto } from './moto.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    motoEndpoint: string;
  }
}

let moto: MotoServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  moto = await startMoto();
  project.provide('motoEndpoint', moto.endpoint);
}

export async function teardown(): Promise<void> {
  await moto?.stop();
}
