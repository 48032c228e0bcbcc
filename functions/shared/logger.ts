/** Structured JSON logs. Nothing logged here may carry a credential: events are summarised, never dumped. */

import { Logger } from '@aws-lambda-powertools/logger';

export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName });
}

export type { Logger };
