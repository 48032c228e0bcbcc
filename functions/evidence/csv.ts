/** The evidence report as CSV: one row per user and account (RFC 4180). Pure. */

import type { EvidenceReport } from './model.ts';

export const CSV_COLUMNS = [
  'account_id',
  'account_name',
  'account_status',
  'user_name',
  'user_arn',
  'active_keys',
  'state',
  'finding_id',
  'finding_status',
  'violation_without_open_finding',
  'exempt_until',
  'iam_data_from',
] as const;

/**
 * One field, quoted (RFC 4180: every field in double quotes, a quote doubled). A field a spreadsheet would read as
 * a formula (it starts with = + - @, a tab or a carriage return; IAM user names may start with + = @ -) gets a
 * leading apostrophe, so opening the file never runs what another principal wrote (OWASP CSV injection).
 */
export function csvField(value: string | number | boolean | null): string {
  const text = value === null ? '' : String(value);
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return `"${safe.replaceAll('"', '""')}"`;
}

/** Rows end with CRLF as RFC 4180 says; an account that could not be read has one row saying so. */
export function renderCsv(report: EvidenceReport): string {
  const lines = [CSV_COLUMNS.map(csvField).join(',')];
  for (const account of report.accounts) {
    const common = [account.accountId, account.name, account.status];
    if (account.status === 'unreadable') {
      lines.push(
        [...common, null, null, null, 'account-not-read', null, null, null, null, null]
          .map(csvField)
          .join(','),
      );
      continue;
    }
    for (const user of account.users) {
      lines.push(
        [
          ...common,
          user.userName,
          user.userArn,
          user.activeKeys,
          user.state,
          user.findingId,
          user.findingStatus,
          user.unreported,
          user.exemptUntil,
          account.iamSource === 'listing'
            ? 'iam-listing'
            : `credential-report ${account.iamGeneratedAt ?? ''}`.trim(),
        ]
          .map(csvField)
          .join(','),
      );
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}
