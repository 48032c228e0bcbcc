import { Names, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

/**
 * The name of a forwarding rule to be created in `scope` under `ruleId`, and the principal its target role trusts:
 * EventBridge acting for this account (`aws:SourceAccount`) and for that rule only (`aws:SourceArn`), so no other
 * rule of the account can use the role; `fixedRuleName` replaces the generated name. The rule's ARN is built from its name: a reference to the rule itself
 * would make the role and the rule's target depend on each other.
 */
export function forwardingRuleIdentity(
  scope: Construct,
  ruleId: string,
  fixedRuleName?: string,
): { readonly ruleName: string; readonly principal: iam.IPrincipal } {
  const stack = Stack.of(scope);
  // Rule names: up to 64 of [.\-_A-Za-z0-9]; unique within the stack's account and region.
  const ruleName =
    fixedRuleName ??
    `${Names.uniqueResourceName(scope, { maxLength: 63 - ruleId.length, separator: '-' })}-${ruleId}`;
  const ruleArn = stack.formatArn({ service: 'events', resource: 'rule', resourceName: ruleName });
  return {
    ruleName,
    principal: new iam.ServicePrincipal('events.amazonaws.com').withConditions({
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnEquals: { 'aws:SourceArn': ruleArn },
    }),
  };
}
