/** Reads a member's forwarding rule with EventBridge, through the member role's session. */

import {
  DescribeRuleCommand,
  type DescribeRuleCommandOutput,
  type EventBridgeClient,
  ListTargetsByRuleCommand,
  type ListTargetsByRuleCommandOutput,
} from '@aws-sdk/client-eventbridge';
import type { ForwardingRuleObservation } from '../core/coverage.ts';
import { AwsCallError } from '../shared/errors.ts';
import { errorCode, errorMessage } from './clients.ts';

export interface ForwardingRulePort {
  /** The rule and its targets; undefined when the rule does not exist. Throws AwsCallError otherwise. */
  observeRule(ruleName: string): Promise<ForwardingRuleObservation | undefined>;
}

async function call<T>(operation: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw new AwsCallError(operation, errorCode(error), errorMessage(error), { cause: error });
  }
}

/** `client` must be in the region where IAM's events arrive (where the member stack deploys the rule). */
export function createForwardingRulePort(client: EventBridgeClient): ForwardingRulePort {
  return {
    async observeRule(ruleName) {
      let rule: DescribeRuleCommandOutput;
      try {
        rule = await client.send(new DescribeRuleCommand({ Name: ruleName }));
      } catch (error) {
        if (errorCode(error) === 'ResourceNotFoundException') return undefined;
        throw new AwsCallError('DescribeRule', errorCode(error), errorMessage(error), { cause: error });
      }
      const targetArns: string[] = [];
      let nextToken: string | undefined;
      do {
        const page: ListTargetsByRuleCommandOutput = await call('ListTargetsByRule', () =>
          client.send(new ListTargetsByRuleCommand({ Rule: ruleName, NextToken: nextToken })),
        );
        for (const target of page.Targets ?? []) if (target.Arn) targetArns.push(target.Arn);
        nextToken = page.NextToken || undefined;
      } while (nextToken !== undefined);
      return {
        arn: rule.Arn ?? ruleName,
        state: rule.State ?? 'UNKNOWN',
        eventPattern: rule.EventPattern,
        targetArns,
      };
    },
  };
}
