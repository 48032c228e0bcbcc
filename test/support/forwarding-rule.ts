/** The member stack's forwarding rule on moto, as the coverage check reads it: one place for tests, bench and demo. */

import { type EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { FORWARDING_RULE_NAME, KEY_EVENT_PATTERN } from '../../functions/shared/constants.ts';

/**
 * Puts the forwarding rule (enabled, the detector's event pattern) into the account `events` acts in, targeting
 * `busArn` under target id `central`, through `roleArn` when given (the member stack's forwarding role).
 */
export async function deployForwardingRule(
  events: EventBridgeClient,
  busArn: string,
  roleArn?: string,
): Promise<void> {
  await events.send(
    new PutRuleCommand({
      Name: FORWARDING_RULE_NAME,
      EventPattern: JSON.stringify(KEY_EVENT_PATTERN),
      State: 'ENABLED',
    }),
  );
  await events.send(
    new PutTargetsCommand({
      Rule: FORWARDING_RULE_NAME,
      Targets: [{ Id: 'central', Arn: busArn, ...(roleArn === undefined ? {} : { RoleArn: roleArn }) }],
    }),
  );
}
