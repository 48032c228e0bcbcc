/**
 * `npx tsx scripts/report-screenshot.ts`: the screenshot in docs/report.md, made from `npm run demo`'s data.
 *
 * Starts moto server, runs the demo against it (AWS_ENDPOINT_URL, so the demo leaves its findings and users there),
 * then the sweep once, so the account has its CloudTrail health finding, writes `keywarden report --format html` to
 * docs/report-example.html, and renders it in headless Chromium to docs/report-screenshot.png. The sweep runs in
 * detect-only mode (it writes findings, changes no key). Needs moto server and Chromium (KEYWARDEN_CHROMIUM or the
 * PATH).
 */

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderPage } from '../test/support/chromium.ts';
import { startMoto } from '../test/support/moto.ts';
import { emulatorEnv } from './lib/emulator.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HTML = join(ROOT, 'docs', 'report-example.html');
const PNG = join(ROOT, 'docs', 'report-screenshot.png');

function step(label: string, args: readonly string[], env: Record<string, string>): void {
  process.stderr.write(`${label}…\n`);
  const result = spawnSync(process.execPath, [...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  // The report exits 1 only when an account could not be read; there is one account here.
  if (result.status !== 0) throw new Error(`${label} exited ${result.status}`);
}

const moto = await startMoto();
try {
  const env = emulatorEnv(moto.endpoint);
  step('npm run demo', ['--import', 'tsx', 'scripts/demo.ts'], env);
  process.stderr.write('one sweep (trail health)…\n');
  Object.assign(process.env, env, { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' });
  // The sweep handler reads its settings and builds its clients when loaded, so the environment comes first.
  const { handler } = await import('../functions/sweep/handler.ts');
  await handler({}, {
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:keywarden-sweep',
  } as never);
  step(
    'keywarden report --format html',
    ['functions/cli/bin.mjs', 'report', '--format', 'html', '--output', HTML],
    env,
  );
  const { png } = await renderPage(HTML, { width: 1200, height: 2400 });
  writeFileSync(PNG, png);
  process.stderr.write(`Wrote ${HTML} and ${PNG}\n`);
} finally {
  await moto.stop();
}
