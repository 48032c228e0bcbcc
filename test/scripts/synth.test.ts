import { describe, expect, it } from 'vitest';
import {
  deployedFunctions,
  EventPatternNotFoundError,
  iamRulePattern,
  type TemplateLike,
} from '../../scripts/lib/synth.ts';

const iamPattern = { source: ['aws.iam'], detail: { eventName: ['CreateAccessKey'] } };
const rule = (pattern: unknown) => ({ Type: 'AWS::Events::Rule', Properties: { EventPattern: pattern } });
const schedule = { Type: 'AWS::Events::Rule', Properties: { ScheduleExpression: 'rate(6 hours)' } };

describe('iamRulePattern', () => {
  it('returns the pattern of the rule that matches aws.iam events, beside a schedule rule', () => {
    const template = {
      Resources: { Schedule: schedule, KeyRule: rule(iamPattern), Queue: { Type: 'AWS::SQS::Queue' } },
    };

    expect(iamRulePattern(template)).toEqual({ logicalId: 'KeyRule', pattern: iamPattern });
  });

  it.each<{ name: string; resources: TemplateLike['Resources']; found: number }>([
    { name: 'there is no aws.iam rule', resources: { Schedule: schedule }, found: 0 },
    {
      name: 'the only rule matches another source',
      resources: { Other: rule({ source: ['aws.s3'] }) },
      found: 0,
    },
    { name: 'two rules match aws.iam', resources: { A: rule(iamPattern), B: rule(iamPattern) }, found: 2 },
  ])('throws naming the rules when $name', ({ resources, found }) => {
    expect(() => iamRulePattern({ Resources: resources })).toThrow(EventPatternNotFoundError);
    expect(() => iamRulePattern({ Resources: resources })).toThrow(`found ${found} among rules`);
  });
});

const lambdaFunction = (properties: Record<string, unknown>) => ({
  Type: 'AWS::Lambda::Function',
  Properties: properties,
});

describe('deployedFunctions', () => {
  it("reads each function's memory, architecture and NODE_OPTIONS", () => {
    const template = {
      Resources: {
        KwDetectorFunctionAB12: lambdaFunction({
          MemorySize: 256,
          Architectures: ['arm64'],
          Environment: { Variables: { NODE_OPTIONS: '--enable-source-maps' } },
        }),
        KwSweepFunctionCD34: lambdaFunction({ MemorySize: 512, Architectures: ['arm64'] }),
      },
    };

    expect(deployedFunctions(template)).toEqual({
      detector: {
        logicalId: 'KwDetectorFunctionAB12',
        memoryMb: 256,
        architecture: 'arm64',
        nodeOptions: '--enable-source-maps',
      },
      sweep: { logicalId: 'KwSweepFunctionCD34', memoryMb: 512, architecture: 'arm64', nodeOptions: '' },
    });
  });

  it("takes CloudFormation's defaults for what a function leaves out", () => {
    const template = {
      Resources: { DetectorFunction: lambdaFunction({}), SweepFunction: lambdaFunction({}) },
    };

    expect(deployedFunctions(template).detector).toMatchObject({ memoryMb: 128, architecture: 'x86_64' });
  });

  it('throws naming the functions when the detector is not there', () => {
    const template = { Resources: { SweepFunction: lambdaFunction({}) } };

    expect(() => deployedFunctions(template)).toThrow(
      'expected one Detector function, found 0 among [SweepFunction]',
    );
  });
});
