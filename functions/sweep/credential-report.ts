/**
 * The IAM credential report: CSV parsing, candidate selection and last-used hints. Pure: no SDK, no clock.
 * The report is up to 4 hours old (IAM regenerates it at most that often), so it only nominates users;
 * every candidate is confirmed with a live read before anything is reported or changed.
 */

import { parse } from 'csv-parse/sync';
import { USER_NAME } from '../core/event.ts';
import type { AccessKey, KeyLastUsed, UserSnapshot } from '../core/types.ts';
import { CredentialReportError } from '../shared/errors.ts';

/** One access-key slot (`access_key_1_*` or `access_key_2_*`) of a report row. */
export interface ReportKeySlot {
  /** `undefined` when the report holds a value that is neither true nor false: the row is then re-checked live. */
  readonly active: boolean | undefined;
  /** When the key was created or last changed; undefined for `N/A`. */
  readonly lastRotated: Date | undefined;
  /** Last use as of the report; undefined when the report has no last-used column for this key. */
  readonly lastUsed: KeyLastUsed | undefined;
}

export interface CredentialReportUser {
  readonly userName: string;
  readonly arn: string;
  readonly createdAt: Date | undefined;
  readonly keys: readonly [ReportKeySlot, ReportKeySlot];
}

/** A row whose fields do not line up with the header, but whose user is known: that user is checked live. */
export interface UnreadableReportRow {
  readonly line: number;
  readonly userName: string;
  readonly reason: string;
}

export interface CredentialReport {
  /** Every user row; an unreadable row's user with both key states unknown, so it is a candidate. */
  readonly users: readonly CredentialReportUser[];
  readonly unreadable: readonly UnreadableReportRow[];
  /** The `<root_account>` row: root keys are another control (CIS 1.4), so the sweep leaves them out. */
  readonly root: CredentialReportUser | undefined;
}

export const ROOT_ACCOUNT_ROW = '<root_account>';
const REQUIRED_COLUMNS = ['user', 'arn', 'access_key_1_active', 'access_key_2_active'] as const;
// Values IAM writes where a date or a name does not apply.
const NO_VALUE = new Set(['', 'n/a', 'not_supported', 'no_information']);

/** Splits RFC 4180 CSV into rows of fields: quoted fields may hold commas, quotes ("") and line breaks. */
export function parseCsv(text: string): string[][] {
  try {
    return parse(text, {
      bom: true,
      // A row of another length is the report's business (see parseCredentialReport), not a parse error.
      relax_column_count: true,
      // IAM writes paths unquoted, and a path may hold a quote.
      relax_quotes: true,
      skip_empty_lines: true,
    }) as string[][];
  } catch (error) {
    throw new CredentialReportError(`credential report CSV cannot be read: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function parseBoolean(raw: string | undefined): boolean | undefined {
  const value = raw?.trim().toLowerCase();
  if (value === 'true') return true;
  // `N/A` and `not_supported` mean there is no such key, so it is not active.
  if (value === 'false' || (value !== undefined && NO_VALUE.has(value))) return false;
  return undefined;
}

function parseDate(raw: string | undefined): Date | undefined {
  const value = raw?.trim();
  if (value === undefined || NO_VALUE.has(value.toLowerCase())) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function parseName(raw: string | undefined): string | undefined {
  const value = raw?.trim();
  return value === undefined || NO_VALUE.has(value.toLowerCase()) ? undefined : value;
}

/** Parses the report CSV by its header, so added, removed or reordered columns do not shift the values. */
export function parseCredentialReport(csv: string): CredentialReport {
  const [header, ...records] = parseCsv(csv);
  if (header === undefined) throw new CredentialReportError('credential report is empty');
  const column = new Map(header.map((name, index) => [name.trim().toLowerCase(), index]));
  const missing = REQUIRED_COLUMNS.filter((name) => !column.has(name));
  if (missing.length > 0) {
    throw new CredentialReportError(`credential report has no ${missing.join(', ')} column(s)`);
  }
  const users: CredentialReportUser[] = [];
  let root: CredentialReportUser | undefined;
  const unreadable: UnreadableReportRow[] = [];
  const userAt = column.get('user');
  const arnAt = column.get('arn');
  records.forEach((record, index) => {
    const line = index + 2;
    if (record.length !== header.length) {
      const reason = `line ${line} has ${record.length} fields, the header has ${header.length}`;
      const recovered =
        userAt === 0 && arnAt === 1 && record.length > header.length ? userOfSplitRow(record) : undefined;
      if (recovered === undefined) throw new CredentialReportError(`credential report ${reason}`);
      // Nothing else of the row can be trusted: both key states unknown, so the engine reads this user live.
      const unknown: ReportKeySlot = { active: undefined, lastRotated: undefined, lastUsed: undefined };
      users.push({ ...recovered, createdAt: undefined, keys: [unknown, unknown] });
      unreadable.push({ line, userName: recovered.userName, reason });
      return;
    }
    const get = (name: string): string | undefined => {
      const at = column.get(name);
      return at === undefined ? undefined : record[at];
    };
    const slot = (n: 1 | 2): ReportKeySlot => {
      const prefix = `access_key_${n}_`;
      return {
        active: parseBoolean(get(`${prefix}active`)),
        lastRotated: parseDate(get(`${prefix}last_rotated`)),
        lastUsed: column.has(`${prefix}last_used_date`)
          ? {
              date: parseDate(get(`${prefix}last_used_date`)),
              serviceName: parseName(get(`${prefix}last_used_service`)),
              region: parseName(get(`${prefix}last_used_region`)),
            }
          : undefined,
      };
    };
    const userName = get('user')?.trim() ?? '';
    const arn = get('arn')?.trim() ?? '';
    if (userName === '' || arn === '') {
      throw new CredentialReportError(`credential report line ${line} has no user name or ARN`);
    }
    const user: CredentialReportUser = {
      userName,
      arn,
      createdAt: parseDate(get('user_creation_time')),
      keys: [slot(1), slot(2)],
    };
    if (userName === ROOT_ACCOUNT_ROW) root = user;
    else users.push(user);
  });
  return { users, unreadable, root };
}

/**
 * The user of a row that IAM split on a comma of the user name (IAM writes the report unquoted, and allows `,` in
 * names and paths): the name is the fields before the first one that starts an ARN (a name cannot hold `:`), and
 * the ARN is the shortest run of fields from there that ends with `/<name>`. Undefined when the row does not read so.
 */
function userOfSplitRow(record: readonly string[]): { userName: string; arn: string } | undefined {
  const arnAt = record.findIndex((field) => field.startsWith('arn:'));
  if (arnAt < 1) return undefined;
  const userName = record.slice(0, arnAt).join(',');
  if (!USER_NAME.test(userName)) return undefined;
  for (let end = arnAt + 1; end <= record.length; end++) {
    const arn = record.slice(arnAt, end).join(',');
    if (/^arn:[^:]+:iam::\d{12}:user\//.test(arn) && arn.endsWith(`/${userName}`)) return { userName, arn };
  }
  return undefined;
}

/**
 * Whether the report nominates this user for a live check: two active keys, or a key whose state the report
 * does not say (a value other than true/false), so that an unreadable row can never hide a violation.
 */
export function isReportCandidate(user: CredentialReportUser): boolean {
  const possiblyActive = user.keys.filter((slot) => slot.active !== false).length;
  return possiblyActive >= 2;
}

/**
 * Whether a key created at `created` (as the SDK hands it over) can be the one the report dates `rotated`. The
 * report truncates to the second; the SDK rounds a wire timestamp with microseconds to the nearest millisecond,
 * so a key created at 10:00:00.9996 arrives as 10:00:01.000 while the report says 10:00:00. Hence the closed
 * upper bound: a key created on the next second's edge matches both seconds, and two slots that then disagree
 * give no hint (see withReportHints).
 */
export function createdInSlotSecond(rotated: Date, created: Date): boolean {
  const offset = created.getTime() - Math.floor(rotated.getTime() / 1000) * 1000;
  return offset >= 0 && offset <= 1000;
}

function sameLastUsed(a: KeyLastUsed, b: KeyLastUsed): boolean {
  return a.date?.getTime() === b.date?.getTime() && a.serviceName === b.serviceName && a.region === b.region;
}

/**
 * Fills `lastUsed` of the live active keys from the report, so no GetAccessKeyLastUsed call is needed for them.
 * A key is matched to a report slot by its creation time (the report's `last_rotated`, to the second); a key that
 * matches no slot, or two slots that disagree, keeps no hint and is looked up live by the engine.
 */
export function withReportHints(snapshot: UserSnapshot, user: CredentialReportUser): UserSnapshot {
  const keys = snapshot.keys.map((key): AccessKey => {
    if (key.status !== 'Active' || key.lastUsed !== undefined) return key;
    const matches = user.keys.filter(
      (slot) => slot.lastRotated !== undefined && createdInSlotSecond(slot.lastRotated, key.createDate),
    );
    const [first, ...others] = matches.map((slot) => slot.lastUsed);
    if (first === undefined || others.some((hint) => hint === undefined || !sameLastUsed(first, hint))) {
      return key;
    }
    return { ...key, lastUsed: first };
  });
  return { ...snapshot, keys };
}

/** The report content as text: the SDK hands over bytes (the wire carries base64); a string may be either. */
export function decodeReportContent(content: Uint8Array | string | undefined): string {
  if (content === undefined) throw new CredentialReportError('credential report has no content');
  if (typeof content !== 'string') return new TextDecoder('utf-8').decode(content);
  if (/^\s*"?user"?,/i.test(content)) return content;
  const decoded = Buffer.from(content, 'base64').toString('utf8');
  if (!/^\s*"?user"?,/i.test(decoded.replace(/^\uFEFF/, ''))) {
    throw new CredentialReportError('credential report content is neither CSV nor base64-encoded CSV');
  }
  return decoded;
}
