/** Structured JSON logs. Nothing logged here may carry a credential: events are summarised, never dumped. */

import { Logger } from '@aws-lambda-powertools/logger';

/** A JSON logger; `logLevel` overrides POWERTOOLS_LOG_LEVEL (e.g. SILENT for the init-time warm-up). */
export function createLogger(serviceName: string, logLevel?: 'SILENT'): Logger {
  return new Logger({ serviceName, ...(logLevel ? { logLevel } : {}) });
}

export type { Logger };
