/** The scan's progress on stderr, never on stdout (which carries the report). */

import type { SweepProgress } from '../sweep/engine.ts';
import type { Output } from './io.ts';

const LONG_PHASE = 200;

function describeProgress(progress: SweepProgress): string {
  switch (progress.phase) {
    case 'report':
      return 'Generating the IAM credential report…';
    case 'findings':
      return 'Reading open KeyWarden findings from Security Hub…';
    case 'listing':
      return progress.done === 0
        ? `Listing the access keys of ${progress.total} users…`
        : `Listing access keys: ${progress.done}/${progress.total} users`;
    case 'checking':
      return progress.done === 0
        ? `Confirming ${progress.total} candidate(s) live…`
        : `Confirming candidates live: ${progress.done}/${progress.total}`;
    case 'importing':
      return progress.done === 0
        ? `Importing ${progress.total} finding(s)…`
        : `Importing findings: ${progress.done}/${progress.total}`;
  }
}

/**
 * Progress of one account's sweep: rewritten in place on a terminal, else a line per phase (and quarter of a long
 * one). With an account id, every line starts `[account] ` and is never rewritten: accounts scanned at the same
 * time would overwrite each other's line.
 */
export function progressReporter(stderr: Output, accountId?: string): (progress: SweepProgress) => void {
  let lastPhase = '';
  let lastQuarter = -1;
  return (progress) => {
    const text = describeProgress(progress);
    if (accountId === undefined && stderr.isTTY) {
      stderr.write(`\r\x1b[2K${text}`);
      return;
    }
    // Counts only for long phases, at each quarter, so a log stays short.
    const total = 'total' in progress ? progress.total : 0;
    const quarter = 'done' in progress && total >= LONG_PHASE ? Math.floor((4 * progress.done) / total) : 0;
    if (progress.phase !== lastPhase || quarter !== lastQuarter)
      stderr.write(`${accountId === undefined ? '' : `[${accountId}] `}${text}\n`);
    lastPhase = progress.phase;
    lastQuarter = quarter;
  };
}
