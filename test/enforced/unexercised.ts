/** Grants no run of KeyWarden's code can exercise, with the reason each is granted all the same. */

import type { Unexercised } from './least-privilege.ts';

/**
 * What the Lambda service does with a function's role, for `role` (detector: also the event source mapping).
 * The check is per action: an action KeyWarden's code also calls (`calledByCode`, e.g. the organization sweep's
 * sqs:SendMessage to its account queue) is proven by that call and left out here.
 */
export function lambdaServiceGrants(
  role: string,
  fn: 'Detector' | 'Sweep',
  calledByCode: readonly string[] = [],
): Unexercised[] {
  const grants: Unexercised[] = [
    ...['logs:CreateLogStream', 'logs:PutLogEvents'].map((action) => ({
      role,
      action,
      usedBy: 'the Lambda service, for the function',
      reason:
        'the Lambda runtime writes the function’s logs to its own log group; no KeyWarden code calls it',
    })),
    ...['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'].map((action) => ({
      role,
      action,
      usedBy: 'the Lambda service, for the function',
      reason:
        'Lambda’s on-failure destination sends a failed asynchronous invocation to the invocation failure queue',
    })),
    ...(fn === 'Detector'
      ? ['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage'].map((action) => ({
          role,
          action,
          usedBy: 'the Lambda service, for the function',
          reason:
            'the event source mapping (the Lambda service) polls the detector queue with the function’s role',
        }))
      : []),
  ];
  return grants.filter((grant) => !calledByCode.includes(grant.action));
}
