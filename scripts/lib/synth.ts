/** The detector rule's event pattern as the CDK app synthesizes it, so the demo tests the deployed pattern. */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TemplateLike {
  readonly Resources?: Readonly<Record<string, { readonly Type?: string; readonly Properties?: unknown }>>;
}

export class EventPatternNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EventPatternNotFoundError';
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The EventPattern of the one AWS::Events::Rule that matches `aws.iam` events. Throws when there is none or more
 * than one, naming the rules found.
 */
export function iamRulePattern(template: TemplateLike): {
  logicalId: string;
  pattern: Record<string, unknown>;
} {
  const rules = Object.entries(template.Resources ?? {}).filter(
    ([, resource]) => resource.Type === 'AWS::Events::Rule',
  );
  const matching = rules.flatMap(([logicalId, resource]) => {
    const properties = isRecord(resource.Properties) ? resource.Properties : {};
    const pattern = properties.EventPattern;
    if (!isRecord(pattern)) return [];
    const sources = Array.isArray(pattern.source) ? pattern.source : [];
    return sources.includes('aws.iam') ? [{ logicalId, pattern }] : [];
  });
  if (matching.length !== 1) {
    throw new EventPatternNotFoundError(
      `expected one AWS::Events::Rule for aws.iam events, found ${matching.length} among rules [${rules.map(([id]) => id).join(', ')}]`,
    );
  }
  return matching[0] as { logicalId: string; pattern: Record<string, unknown> };
}

/**
 * Synthesizes the KeyWarden stack (infra/keywarden-stack.ts) in us-east-1 without bundling the functions, and
 * returns its IAM rule's pattern. aws-cdk-lib is loaded here only, since it takes seconds to load.
 */
export async function synthesizedKeyEventPattern(
  accountId: string,
): Promise<{ stackName: string; logicalId: string; pattern: Record<string, unknown> }> {
  const [{ App }, { KeyWardenStack }] = await Promise.all([
    import('aws-cdk-lib'),
    import('../../infra/keywarden-stack.ts'),
  ]);
  const outdir = await mkdtemp(join(tmpdir(), 'keywarden-synth-'));
  try {
    const app = new App({
      outdir,
      // An empty bundling-stacks list makes NodejsFunction skip esbuild: only the template is needed.
      context: { 'aws:cdk:bundling-stacks': [] },
      // The built-in template validation takes seconds and is the synth's job (npm run synth), not the demo's.
      builtinCloudFormationValidation: false,
    });
    const stack = new KeyWardenStack(app, 'KeyWarden', { env: { account: accountId, region: 'us-east-1' } });
    const template = app.synth().getStackByName(stack.stackName).template as TemplateLike;
    return { stackName: stack.stackName, ...iamRulePattern(template) };
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

/** What the template sets for a function that the benchmark must reproduce. */
export interface DeployedFunction {
  readonly logicalId: string;
  readonly memoryMb: number;
  readonly architecture: string;
  /** `NODE_OPTIONS` from the function's environment ('' when unset). */
  readonly nodeOptions: string;
}

/** The detector's and the sweep's settings in a template: its one `*DetectorFunction*` and `*SweepFunction*`. */
export function deployedFunctions(template: TemplateLike): {
  detector: DeployedFunction;
  sweep: DeployedFunction;
} {
  const functions = Object.entries(template.Resources ?? {}).filter(
    ([, resource]) => resource.Type === 'AWS::Lambda::Function',
  );
  const find = (kind: string): DeployedFunction => {
    const matching = functions.filter(([logicalId]) => logicalId.includes(`${kind}Function`));
    if (matching.length !== 1) {
      throw new Error(
        `expected one ${kind} function, found ${matching.length} among [${functions.map(([id]) => id).join(', ')}]`,
      );
    }
    const [logicalId, resource] = matching[0] as [string, { Properties?: unknown }];
    const properties = isRecord(resource.Properties) ? resource.Properties : {};
    const environment = isRecord(properties.Environment) ? properties.Environment : {};
    const variables = isRecord(environment.Variables) ? environment.Variables : {};
    const architectures = Array.isArray(properties.Architectures) ? properties.Architectures : [];
    return {
      logicalId,
      // CloudFormation's default memory is 128 MB and architecture x86_64.
      memoryMb: typeof properties.MemorySize === 'number' ? properties.MemorySize : 128,
      architecture: typeof architectures[0] === 'string' ? architectures[0] : 'x86_64',
      nodeOptions: typeof variables.NODE_OPTIONS === 'string' ? variables.NODE_OPTIONS : '',
    };
  };
  return { detector: find('Detector'), sweep: find('Sweep') };
}

/** Synthesizes the KeyWarden stack without bundling and returns its functions' deployed settings. */
export async function synthesizedFunctions(accountId: string): Promise<ReturnType<typeof deployedFunctions>> {
  const [{ App }, { KeyWardenStack }] = await Promise.all([
    import('aws-cdk-lib'),
    import('../../infra/keywarden-stack.ts'),
  ]);
  const outdir = await mkdtemp(join(tmpdir(), 'keywarden-synth-'));
  try {
    const app = new App({
      outdir,
      context: { 'aws:cdk:bundling-stacks': [] },
      builtinCloudFormationValidation: false,
    });
    const stack = new KeyWardenStack(app, 'KeyWarden', { env: { account: accountId, region: 'us-east-1' } });
    return deployedFunctions(app.synth().getStackByName(stack.stackName).template as TemplateLike);
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}
