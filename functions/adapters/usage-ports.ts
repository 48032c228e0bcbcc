/**
 * The usage evidence port of one account's clients, loaded on its first use: only a violation reads usage evidence,
 * so a compliant event never loads the CloudTrail client.
 */

import type { AwsClients } from './clients.ts';
import type { UsageEventsOptions, UsageEventsPort } from './usage-events.ts';

/** A usage evidence port over `clients`' account (its own credentials, or a member role's session). */
export function lazyUsageEventsPort(clients: AwsClients, options: UsageEventsOptions): UsageEventsPort {
  let port: Promise<UsageEventsPort> | undefined;
  return {
    async usage(queries, window) {
      port ??= import('./usage-events.ts').then(({ createUsageEventsPort, usageClientsFor }) =>
        createUsageEventsPort(usageClientsFor(clients), options),
      );
      return (await port).usage(queries, window);
    },
  };
}
