import { describe, expect, it } from 'vitest';
import { EventPatternNotFoundError, iamRulePattern, type TemplateLike } from '../../scripts/lib/synth.ts';

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
