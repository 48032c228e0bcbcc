/**
 * The evidence report as one self-contained HTML page: inline CSS and SVG, no script, no font or image from the
 * network, so it opens offline from a mail attachment and prints to A4 with a page per section. Every string from
 * a finding or from IAM is escaped: user names, tags and finding fields are written by other principals. Pure.
 */

import type {
  AccountEvidence,
  Coverage,
  DayCount,
  EvidenceReport,
  KeyEvidence,
  ResolvedViolation,
} from './model.ts';

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(value: string | number | null | undefined): string {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const e = escapeHtml;
const dash = '—';
const orDash = (value: string | number | null | undefined): string =>
  value === null || value === undefined || value === '' ? dash : e(value);

function percent(share: number | null): string {
  return share === null ? 'n/a (no users)' : `${(Math.floor(share * 1000) / 10).toFixed(1)} %`;
}

function hours(value: number | null): string {
  if (value === null) return 'not recorded';
  if (value < 1) return `${Math.round(value * 60)} min`;
  if (value < 48) return `${value.toFixed(1)} h`;
  return `${(value / 24).toFixed(1)} days`;
}

/** A table with a caption, column headers (scope=col) and, per row, a row header (scope=row) in the first cell. */
function table(
  caption: string,
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  empty: string,
): string {
  if (rows.length === 0) return `<p class="empty">${e(empty)}</p>`;
  const head = headers.map((h) => `<th scope="col">${e(h)}</th>`).join('');
  const body = rows
    .map(
      ([first, ...rest]) =>
        `<tr><th scope="row">${first ?? ''}</th>${rest.map((cell) => `<td>${cell}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<table>\n<caption>${e(caption)}</caption>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

// Status words carry the meaning; the colour and the symbol only repeat it.
const BADGE: Readonly<Record<string, { cls: string; symbol: string }>> = {
  compliant: { cls: 'ok', symbol: '✓' },
  covered: { cls: 'ok', symbol: '✓' },
  resolved: { cls: 'ok', symbol: '✓' },
  violating: { cls: 'bad', symbol: '✗' },
  blind: { cls: 'bad', symbol: '✗' },
  unreadable: { cls: 'bad', symbol: '✗' },
  open: { cls: 'bad', symbol: '✗' },
  exempt: { cls: 'warn', symbol: '!' },
  unverified: { cls: 'warn', symbol: '!' },
  'not-checked': { cls: 'warn', symbol: '?' },
};

function badge(word: string): string {
  const style = BADGE[word] ?? { cls: 'info', symbol: '•' };
  return `<span class="badge ${style.cls}"><span aria-hidden="true">${style.symbol} </span>${e(word)}</span>`;
}

const COVERAGE_TEXT: Readonly<Record<Coverage, string>> = {
  covered: 'a trail delivers IAM events',
  blind: 'no trail delivers IAM events: real-time detection is blind',
  unverified: 'the organization trail could not be verified',
  'not-checked': 'trails not checked (no health finding)',
  unreadable: 'the account could not be read',
};

function keysCell(keys: readonly KeyEvidence[]): string {
  if (keys.length === 0) return dash;
  return `<ul class="keys">${keys
    .map((key) => {
      const used =
        key.lastUsedAt === null
          ? 'usage not recorded'
          : key.lastUsedAt === 'never'
            ? 'never used'
            : `last used ${e(key.lastUsedAt)} (${orDash(key.lastUsedService)}, ${orDash(key.lastUsedRegion)})`;
      const origin = key.madeUsableBy ? `; ${e(key.madeUsableBy)}` : '';
      return `<li><code>${e(key.accessKeyId)}</code> ${e(key.status)}, created ${orDash(key.createdAt)}, ${used}${origin}</li>`;
    })
    .join('')}</ul>`;
}

const accountName = (account: AccountEvidence): string =>
  `<code>${e(account.accountId)}</code>${account.name ? ` ${e(account.name)}` : ''}`;

const HOW_TEXT: Readonly<Record<ResolvedViolation['how'], string>> = {
  'deactivated-by-keywarden': 'deactivated by KeyWarden',
  deactivated: 'key deactivated',
  'key-deleted': 'key deleted',
  'user-deleted': 'user deleted',
  resolved: 'resolved',
};

/** Bars of violations open per day, with the count written on each bar and an axis of dates. */
export function openPerDayChart(days: readonly DayCount[]): string {
  const width = 680;
  const height = 220;
  const left = 40;
  const bottom = 30;
  const top = 20;
  const max = Math.max(1, ...days.map((d) => d.open));
  const slot = (width - left - 10) / Math.max(1, days.length);
  const barWidth = Math.max(2, slot * 0.7);
  const scale = (height - top - bottom) / max;
  const bars = days
    .map((d, i) => {
      const x = left + i * slot + (slot - barWidth) / 2;
      const h = d.open * scale;
      const y = height - bottom - h;
      const label =
        d.open > 0 && slot >= 12
          ? `<text x="${(x + barWidth / 2).toFixed(1)}" y="${(y - 4).toFixed(1)}" class="v">${d.open}</text>`
          : '';
      const tick =
        i === 0 || i === days.length - 1 || (days.length > 10 && i % 7 === 0)
          ? `<text x="${(x + barWidth / 2).toFixed(1)}" y="${height - 10}" class="t">${e(d.day.slice(5))}</text>`
          : '';
      return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${barWidth.toFixed(1)}" height="${h.toFixed(1)}" class="bar"><title>${e(d.day)}: ${d.open} open</title></rect>${label}${tick}`;
    })
    .join('');
  const peak = days.reduce((best, d) => (d.open > best.open ? d : best), days[0] ?? { day: '', open: 0 });
  return `<figure>
<svg role="img" aria-labelledby="open-title open-desc" viewBox="0 0 ${width} ${height}" width="100%">
<title id="open-title">Violations open per day</title>
<desc id="open-desc">${days.length} days from ${e(days[0]?.day)} to ${e(days[days.length - 1]?.day)}; the most on one day: ${peak.open}${peak.open > 0 ? ` (${e(peak.day)})` : ''}.</desc>
<line x1="${left}" y1="${height - bottom}" x2="${width - 10}" y2="${height - bottom}" class="axis"/>
<text x="${left - 6}" y="${top + 4}" class="y">${max}</text><text x="${left - 6}" y="${height - bottom}" class="y">0</text>
${bars}
</svg>
<figcaption>Violations open at the end of each day (UTC) of the period; exemptions not counted.</figcaption>
</figure>`;
}

const BUCKETS: readonly { readonly label: string; readonly upTo: number }[] = [
  { label: 'under 1 hour', upTo: 1 },
  { label: '1 to 24 hours', upTo: 24 },
  { label: '1 to 7 days', upTo: 24 * 7 },
  { label: '7 to 30 days', upTo: 24 * 30 },
  { label: 'over 30 days', upTo: Number.POSITIVE_INFINITY },
];

/** Resolved violations by time to resolve, a horizontal bar per range with its count written beside it. */
export function timeToResolveChart(resolved: readonly ResolvedViolation[]): string {
  const known = resolved.map((r) => r.hoursToResolve).filter((h): h is number => h !== null);
  const counts = BUCKETS.map((bucket, i) => ({
    label: bucket.label,
    count: known.filter((h) => h < bucket.upTo && (i === 0 || h >= (BUCKETS[i - 1]?.upTo ?? 0))).length,
  }));
  const max = Math.max(1, ...counts.map((c) => c.count));
  const rowHeight = 30;
  const width = 680;
  const left = 130;
  const height = counts.length * rowHeight + 10;
  const rows = counts
    .map((c, i) => {
      const y = 5 + i * rowHeight;
      const w = (c.count / max) * (width - left - 60);
      return `<text x="${left - 8}" y="${y + 19}" class="l">${e(c.label)}</text><rect x="${left}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowHeight - 10}" class="bar"><title>${e(c.label)}: ${c.count}</title></rect><text x="${(left + w + 6).toFixed(1)}" y="${y + 19}" class="v2">${c.count}</text>`;
    })
    .join('');
  return `<figure>
<svg role="img" aria-labelledby="ttr-title ttr-desc" viewBox="0 0 ${width} ${height}" width="100%">
<title id="ttr-title">Time to resolve</title>
<desc id="ttr-desc">${counts.map((c) => `${e(c.label)}: ${c.count}`).join('; ')}. ${resolved.length - known.length} without a recorded detection time.</desc>
${rows}
</svg>
<figcaption>Resolved violations of the period by time from detection to resolution.</figcaption>
</figure>`;
}

const CSS = `
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #1a1a1a; background: #fff; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; line-height: 1.45; font-size: 15px; }
h1 { font-size: 1.6rem; margin-bottom: .25rem; }
h2 { font-size: 1.25rem; border-bottom: 2px solid #1f3a5f; padding-bottom: .2rem; margin-top: 2.2rem; color: #1f3a5f; }
h3 { font-size: 1.05rem; margin-top: 1.4rem; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0 1rem; font-size: .85rem; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
th, td { border: 1px solid #8a8a8a; padding: .3rem .45rem; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
thead th { background: #e8edf3; overflow-wrap: normal; hyphens: auto; }
tbody th { font-weight: 600; background: #f7f7f7; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .9em; }
.badge { display: inline-block; padding: 0 .35rem; border: 1px solid currentColor; border-radius: .25rem; font-weight: 600; white-space: nowrap; }
.ok { color: #0b5d1e; } .bad { color: #a4001d; } .warn { color: #7a4a00; } .info { color: #1f3a5f; }
.meta dt { font-weight: 600; } .meta dd { margin: 0 0 .4rem 0; }
.empty { font-style: italic; }
ul.keys { margin: 0; padding-left: 1rem; }
figure { margin: 1rem 0; } figcaption { font-size: .85rem; }
svg .bar { fill: #1f3a5f; } svg .axis { stroke: #1a1a1a; }
svg text { font-size: 11px; fill: #1a1a1a; font-family: system-ui, Arial, sans-serif; }
svg .v { text-anchor: middle; } svg .t { text-anchor: middle; } svg .y { text-anchor: end; } svg .l { text-anchor: end; }
.figures { display: flex; gap: 1rem; flex-wrap: wrap; }
.figure-box { border: 1px solid #8a8a8a; padding: .5rem .8rem; min-width: 10rem; }
.figure-box strong { display: block; font-size: 1.4rem; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  section { break-before: page; }
  section:first-of-type { break-before: auto; }
  table, figure { break-inside: auto; } tr, figure svg { break-inside: avoid; }
  thead { display: table-header-group; }
}
`;

function summarySection(report: EvidenceReport): string {
  return `<section aria-labelledby="summary">
<h2 id="summary">Summary</h2>
<div class="figures">${summaryFigures(report.total)}</div>
${table(
  'Compliance per account (users from the IAM credential report; findings from Security Hub)',
  [
    'Account',
    'Compliant now',
    'Users',
    'Compliant',
    'Violating',
    'Exempt',
    'Open violations',
    'Resolved in period',
    'Open threats',
    'Event coverage',
  ],
  summaryRows(report),
  'No account.',
)}
${openPerDayChart(report.openPerDay)}
</section>`;
}

/** The headline figures, one box each. */
function summaryFigures(t: EvidenceReport['total']): string {
  return [
    ['Users compliant now', `${percent(t.compliantShare)}`, `${t.compliant} of ${t.users}`],
    ['Open violations', String(t.openViolations), `${t.violating} users with 2 active keys now`],
    ['Exemptions', String(t.exemptions), `${t.exempt} exempt users now`],
    [
      'Resolved in the period',
      String(t.resolved),
      t.resolveTimes
        ? `median ${hours(t.resolveTimes.medianHours)}, worst ${hours(t.resolveTimes.worstHours)}`
        : 'no recorded time to resolve',
    ],
    ['Threat findings (T1098.001)', `${t.threatsOpen} open`, `${t.threatsResolved} resolved`],
    ['Accounts not covered', String(t.accountsNotCovered), `${t.accountsUnreadable} could not be read`],
  ]
    .map(
      ([label, value, note]) =>
        `<div class="figure-box"><span>${e(label)}</span><strong>${e(value)}</strong><span>${e(note)}</span></div>`,
    )
    .join('\n');
}

/** One row per account, then the total. */
function summaryRows(report: EvidenceReport): string[][] {
  const t = report.total;
  const rows = report.accounts.map((a) => [
    accountName(a),
    a.status === 'read' ? e(percent(a.summary?.compliantShare ?? null)) : badge('unreadable'),
    a.summary ? String(a.summary.users) : dash,
    a.summary ? String(a.summary.compliant) : dash,
    a.summary ? String(a.summary.violating) : dash,
    a.summary ? String(a.summary.exempt) : dash,
    String(a.openViolations.length),
    String(a.resolved.length),
    String(a.threats.filter((th) => th.state === 'open').length),
    badge(a.coverage),
  ]);
  rows.push([
    'Total',
    e(percent(t.compliantShare)),
    String(t.users),
    String(t.compliant),
    String(t.violating),
    String(t.exempt),
    String(t.openViolations),
    String(t.resolved),
    String(t.threatsOpen),
    `${t.accounts - t.accountsNotCovered} of ${t.accounts} covered`,
  ]);
  return rows;
}

function coverageSection(report: EvidenceReport): string {
  const rows = report.accounts.map((a) => [
    accountName(a),
    badge(a.coverage),
    `${e(COVERAGE_TEXT[a.coverage])}. ${e(a.coverageDetail)}`,
    orDash(a.coverageCheckedAt),
    a.status !== 'read'
      ? orDash(a.error)
      : `findings read ${orDash(a.readAt)}; ${
          a.iamSource === 'listing'
            ? `IAM users listed live (the credential report could not be used: ${orDash(a.iamFallbackReason)})`
            : `IAM credential report of ${orDash(a.iamGeneratedAt)}`
        }`,
  ]);
  const notCovered = report.accounts.filter((a) => a.coverage !== 'covered').length;
  return `<section aria-labelledby="coverage">
<h2 id="coverage">Coverage: accounts not covered or blind</h2>
<p>${notCovered === 0 ? 'Every account is covered: a CloudTrail trail delivers IAM management write events to KeyWarden.' : `${notCovered} of ${report.accounts.length} account(s) are not known to be covered. Without a trail KeyWarden detects violations only at its scheduled sweep; an account that could not be read is not in the figures.`}</p>
${table('Event coverage per account', ['Account', 'Status', 'What KeyWarden knows', 'Checked at', 'Data'], rows, 'No account.')}
</section>`;
}

function violationsSection(report: EvidenceReport): string {
  const open = report.accounts.flatMap((a) => a.openViolations);
  const rows = open.map((v) => [
    `<code>${e(v.userName)}</code>`,
    `<code>${e(v.accountId)}</code>`,
    orDash(v.detectedAt),
    orDash(v.lastConfirmedAt),
    `${orDash(v.reasonCode)}${v.action ? ` (${e(v.action)})` : ''}`,
    keysCell(v.keys),
    orDash(v.workflow),
  ]);
  const unreported = report.accounts.flatMap((a) =>
    a.users
      .filter((u) => u.unreported)
      .map((u) => [`<code>${e(u.userName)}</code>`, `<code>${e(a.accountId)}</code>`, String(u.activeKeys)]),
  );
  return `<section aria-labelledby="open">
<h2 id="open">Open violations</h2>
${table(
  'Users with more than one active access key, as their open finding reports (usage from iam:GetAccessKeyLastUsed)',
  ['User', 'Account', 'Detected', 'Last confirmed', 'Reason (action)', 'Keys and usage', 'Workflow'],
  rows,
  'No open violation.',
)}
${
  unreported.length === 0
    ? ''
    : table(
        'Violations IAM shows that no open finding reports yet (found by this report; the next sweep reports them)',
        ['User', 'Account', 'Active keys'],
        unreported,
        '',
      )
}
</section>`;
}

function exemptionsSection(report: EvidenceReport): string {
  const rows = report.accounts.flatMap((a) =>
    a.exemptions.map((x) => [
      `<code>${e(x.userName)}</code>`,
      `<code>${e(x.accountId)}</code>`,
      orDash(x.since),
      x.until === null ? 'no end date' : e(x.until),
      x.setBy === null ? 'not recorded (the tag event was not seen)' : e(x.setBy),
      orDash(x.reason),
      keysCell(x.keys),
    ]),
  );
  return `<section aria-labelledby="exemptions">
<h2 id="exemptions">Exemptions</h2>
${table('Users exempt from enforcement by tag', ['User', 'Account', 'Since', 'Until', 'Set by', 'Reason', 'Keys'], rows, 'No exemption.')}
</section>`;
}

function resolvedSection(report: EvidenceReport): string {
  const resolved = report.accounts.flatMap((a) => a.resolved);
  const times = report.total.resolveTimes;
  const rows = resolved.map((r) => [
    `<code>${e(r.userName)}</code>`,
    `<code>${e(r.accountId)}</code>`,
    orDash(r.detectedAt),
    e(r.resolvedAt),
    e(HOW_TEXT[r.how]),
    orDash(r.by),
    e(hours(r.hoursToResolve)),
  ]);
  return `<section aria-labelledby="resolved">
<h2 id="resolved">Resolved violations in the period</h2>
<p>${resolved.length} violation(s) resolved from ${e(report.period.from)} to ${e(report.period.to)}.${times ? ` Time to resolve: median ${e(hours(times.medianHours))}, worst ${e(hours(times.worstHours))} (${times.count} with a recorded detection time).` : ''}</p>
${table('Violations resolved in the period', ['User', 'Account', 'Detected', 'Resolved', 'How', 'By', 'Time to resolve'], rows, 'No violation was resolved in the period.')}
${timeToResolveChart(resolved)}
</section>`;
}

function threatsSection(report: EvidenceReport): string {
  const threats = report.accounts.flatMap((a) => a.threats);
  const rows = threats.map((t) => [
    `<code>${e(t.accessKeyId)}</code>`,
    `<code>${e(t.userName)}</code> in <code>${e(t.accountId)}</code>`,
    badge(t.state),
    e(t.how),
    `<code>${e(t.actorArn)}</code>`,
    `${orDash(t.eventTime)}${t.sourceIp ? ` from ${e(t.sourceIp)}` : ''}`,
    t.state === 'open' ? `key ${e(t.keyState)}` : `${orDash(t.resolvedAt)}: ${orDash(t.resolvedBy)}`,
  ]);
  return `<section aria-labelledby="threats">
<h2 id="threats">Keys made usable by another principal (MITRE ATT&amp;CK T1098.001)</h2>
${table('Threat findings open, and resolved in the period', ['Access key', 'User', 'State', 'How', 'By', 'When', 'Key now / resolved'], rows, 'No threat finding.')}
</section>`;
}

function methodSection(report: EvidenceReport): string {
  const mappings = report.control.mappings.map((m) => [
    e(`${report.control.benchmark} ${m.version}`),
    e(m.control),
    e(report.control.title),
  ]);
  return `<section aria-labelledby="method">
<h2 id="method">Control mapping and data</h2>
${table('Benchmark versions and control numbers this evidence maps to', ['Benchmark', 'Control', 'Title'], mappings, '')}
<dl class="meta">
<dt>Made</dt><dd>${e(report.generatedAt)} by <code>${e(report.generatedBy)}</code> with KeyWarden ${e(report.tool.version)}</dd>
<dt>Period</dt><dd>${e(report.period.from)} to ${e(report.period.to)} (${report.period.days} days)</dd>
<dt>Accounts</dt><dd>${e(report.scope === 'account' ? "the caller's account" : report.scope === 'organization' ? 'every ACTIVE account of the organization' : 'the accounts given with --accounts')}${report.roleName ? `, read through the member role ${e(report.roleName)}` : ''}; region ${e(report.region)}</dd>
${report.sources.map((s) => `<dt>Source</dt><dd>${e(s)}</dd>`).join('\n')}
</dl>
</section>`;
}

/** The whole page. */
export function renderHtml(report: EvidenceReport): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="KeyWarden ${e(report.tool.version)}">
<title>KeyWarden evidence: CIS 1.13 access keys, ${e(report.generatedAt.slice(0, 10))}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>Evidence: one active access key per IAM user</h1>
<p>CIS AWS Foundations Benchmark ${report.control.mappings.map((m) => `${e(m.version)} ${e(m.control)}`).join(', ')}. Made ${e(report.generatedAt)} by <code>${e(report.generatedBy)}</code>; period of ${report.period.days} days from ${e(report.period.from)}.</p>
</header>
<main>
${summarySection(report)}
${coverageSection(report)}
${violationsSection(report)}
${exemptionsSection(report)}
${resolvedSection(report)}
${threatsSection(report)}
${methodSection(report)}
</main>
</body>
</html>
`;
}
