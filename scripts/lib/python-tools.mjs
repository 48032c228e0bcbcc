#!/usr/bin/env node
/**
 * The Python tools the tests and the demo run: moto server (the local AWS stand-in) and cfn-lint. One lookup for
 * test/support/moto.ts, the cfn-lint test, the demo and .ci/run: the PATH first, then the project's own virtual
 * environment (.venv/), and when a tool is in neither, .venv/ is created with the pinned versions below. When
 * Python or the install is unavailable, one error says what to install.
 *
 * Usage: node scripts/lib/python-tools.mjs   (finds or installs both; prints where each is; exit 1 with the message)
 */

import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Each tool's command and the pinned requirement that provides it (the versions the project is tested with). */
export const PYTHON_TOOLS = {
  moto_server: 'moto[server]==5.2.1',
  'cfn-lint': 'cfn-lint==1.51.0',
};

export class PythonToolsMissingError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'PythonToolsMissingError';
  }
}

const isExecutable = (file) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The project-local virtual environment: KEYWARDEN_PYTHON_VENV, else .venv/ in the project. */
export function venvDirectory(root = ROOT, env = process.env) {
  return env.KEYWARDEN_PYTHON_VENV || join(root, '.venv');
}

/** The path of `name`: on the PATH, else in .venv/bin; undefined when in neither. */
export function findPythonTool(name, { env = process.env, root = ROOT } = {}) {
  for (const directory of (env.PATH ?? '').split(delimiter)) {
    if (directory !== '' && isExecutable(join(directory, name))) return join(directory, name);
  }
  const local = join(venvDirectory(root, env), 'bin', name);
  return isExecutable(local) ? local : undefined;
}

/** What a person should run when the tools cannot be found or installed. */
export function installAdvice(names = Object.keys(PYTHON_TOOLS)) {
  const requirements = names.map((name) => `'${PYTHON_TOOLS[name]}'`).join(' ');
  return `install Python 3, then \`python3 -m pip install ${requirements}\` so that ${names.join(' and ')} ${names.length > 1 ? 'are' : 'is'} on the PATH (or \`python3 -m venv .venv && .venv/bin/pip install ${requirements}\` in this project), and rerun`;
}

/**
 * The path of every tool in `names`, creating .venv/ with all the pinned tools when one is missing. Throws
 * {@link PythonToolsMissingError} when Python, venv or pip fails, saying what to install.
 */
export function ensurePythonTools({
  names = Object.keys(PYTHON_TOOLS),
  env = process.env,
  root = ROOT,
  python = 'python3',
  log = (line) => process.stderr.write(`${line}\n`),
} = {}) {
  const found = () => Object.fromEntries(names.map((name) => [name, findPythonTool(name, { env, root })]));
  let paths = found();
  const missing = names.filter((name) => paths[name] === undefined);
  if (missing.length === 0) return paths;

  const venv = venvDirectory(root, env);
  const requirements = Object.values(PYTHON_TOOLS);
  const created = !existsSync(venv);
  const fail = (reason) => {
    // A half-made environment would only hide the next attempt's real error.
    if (created) rmSync(venv, { recursive: true, force: true });
    throw new PythonToolsMissingError(
      `${missing.join(' and ')} not found, and ${reason}: ${installAdvice()}`,
    );
  };
  log(`${missing.join(' and ')} not found: installing ${requirements.join(' ')} into ${venv}`);
  const step = (command, args, what) => {
    const result = spawnSync(command, args, { cwd: root, env, encoding: 'utf8', timeout: 600_000 });
    if (result.status === 0) return;
    const detail =
      result.error?.message ??
      (result.stderr || result.stdout)
        .trim()
        .split('\n')
        .filter((line) => /error/i.test(line))
        .slice(-1)[0] ??
      `exit code ${result.status}`;
    fail(`${what} failed (${detail})`);
  };
  if (created) step(python, ['-m', 'venv', venv], `\`${python} -m venv .venv\``);
  step(
    join(venv, 'bin', 'pip'),
    ['install', '--disable-pip-version-check', '--quiet', ...requirements],
    `\`.venv/bin/pip install ${requirements.join(' ')}\``,
  );
  paths = found();
  const stillMissing = names.filter((name) => paths[name] === undefined);
  if (stillMissing.length > 0) fail(`the install into .venv did not provide ${stillMissing.join(' and ')}`);
  return paths;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    for (const [name, path] of Object.entries(ensurePythonTools())) console.log(`${name}: ${path}`);
  } catch (error) {
    if (!(error instanceof PythonToolsMissingError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
