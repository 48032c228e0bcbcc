/** Custom events on the notification bus, one per outcome. */

import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { Notification } from '../core/notification.ts';
import { NOTIFICATION_SOURCE } from '../shared/constants.ts';
import { NotificationError } from '../shared/errors.ts';
import { errorCode, errorMessage } from './clients.ts';

export type { Notification, Outcome } from '../core/notification.ts';

export interface NotifierPort {
  notify(notification: Notification): Promise<void>;
}

/** Detail types are `KeyWarden <outcome>`, e.g. `KeyWarden Violation Detected`, `KeyWarden Key Deactivated`. */
export function createNotifier(client: EventBridgeClient, eventBusName: string): NotifierPort {
  return {
    async notify({ outcome, detail }) {
      let output: { FailedEntryCount?: number; Entries?: { ErrorCode?: string; ErrorMessage?: string }[] };
      try {
        output = await client.send(
          new PutEventsCommand({
            Entries: [
              {
                EventBusName: eventBusName,
                Source: NOTIFICATION_SOURCE,
                DetailType: `KeyWarden ${outcome}`,
                Detail: JSON.stringify(detail),
              },
            ],
          }),
        );
      } catch (error) {
        throw new NotificationError(`PutEvents failed: ${errorCode(error)}: ${errorMessage(error)}`, {
          cause: error,
        });
      }
      if (output.FailedEntryCount) {
        const entry = output.Entries?.find((e) => e.ErrorCode);
        throw new NotificationError(
          `PutEvents rejected the event: ${entry?.ErrorCode}: ${entry?.ErrorMessage}`,
        );
      }
    },
  };
}
