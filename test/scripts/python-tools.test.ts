import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ensurePythonTools,
  findPythonTool,
  PYTHON_TOOLS,
  PythonToolsMissingError,
} from '../../scripts/lib/python-tools.mjs';

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'keywarden-python-tools-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function executable(path: string, script: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  // The scripts' own PATH: the tests give ensurePythonTools one without the system directories.
  writeFileSync(path, `#!/bin/sh\nPATH=/usr/bin:/bin\n${script}\n`);
  chmodSync(path, 0o755);
  return path;
}

/**
 * A stand-in for python3 whose `-m venv DIR` makes DIR/bin/pip; that pip runs `pipScript` (with the venv's bin
 * directory as $BIN and the arguments it was given in $@).
 */
function fakePython(pipScript: string): string {
  return executable(
    join(root, 'python-bin', 'python3'),
    `[ "$1" = "-m" ] && [ "$2" = "venv" ] || exit 9
mkdir -p "$3/bin"
cat > "$3/bin/pip" <<'PIP'
#!/bin/sh
PATH=/usr/bin:/bin
BIN="$(dirname "$0")"
${pipScript}
PIP
chmod +x "$3/bin/pip"`,
  );
}

const PIP_INSTALLS_BOTH = `echo "$@" > "$BIN/pip-args"
for tool in moto_server cfn-lint; do printf '#!/bin/sh\\n' > "$BIN/$tool"; chmod +x "$BIN/$tool"; done`;
const PIP_OFFLINE = `echo "ERROR: Could not find a version that satisfies the requirement moto[server]==5.2.1 (from versions: none)" >&2
exit 1`;

describe('findPythonTool', () => {
  it('finds a tool on the PATH first', () => {
    const onPath = executable(join(root, 'bin', 'cfn-lint'), 'exit 0');
    executable(join(root, '.venv', 'bin', 'cfn-lint'), 'exit 0');

    expect(findPythonTool('cfn-lint', { env: { PATH: join(root, 'bin') }, root })).toBe(onPath);
  });

  it('finds a tool in the project .venv when the PATH has none', () => {
    const inVenv = executable(join(root, '.venv', 'bin', 'cfn-lint'), 'exit 0');

    expect(findPythonTool('cfn-lint', { env: { PATH: join(root, 'bin') }, root })).toBe(inVenv);
  });

  it('returns undefined when the tool is in neither, or not executable', () => {
    mkdirSync(join(root, '.venv', 'bin'), { recursive: true });
    writeFileSync(join(root, '.venv', 'bin', 'cfn-lint'), 'not executable');

    expect(findPythonTool('cfn-lint', { env: { PATH: join(root, 'bin') }, root })).toBeUndefined();
  });
});

describe('ensurePythonTools', () => {
  const quiet = () => undefined;

  it('returns the tools found without creating a virtual environment', () => {
    const moto = executable(join(root, 'bin', 'moto_server'), 'exit 0');
    const cfnLint = executable(join(root, 'bin', 'cfn-lint'), 'exit 0');
    const python = fakePython('exit 1');

    expect(ensurePythonTools({ env: { PATH: join(root, 'bin') }, root, python, log: quiet })).toEqual({
      moto_server: moto,
      'cfn-lint': cfnLint,
    });
    expect(findPythonTool('pip', { env: { PATH: '' }, root })).toBeUndefined();
  });

  it('creates .venv with the pinned versions when a tool is missing, and uses it', () => {
    const python = fakePython(PIP_INSTALLS_BOTH);
    const lines: string[] = [];

    const paths = ensurePythonTools({
      env: { PATH: join(root, 'bin') },
      root,
      python,
      log: (line) => lines.push(line),
    });

    expect(paths).toEqual({
      moto_server: join(root, '.venv', 'bin', 'moto_server'),
      'cfn-lint': join(root, '.venv', 'bin', 'cfn-lint'),
    });
    expect(lines).toEqual([expect.stringContaining('installing moto[server]==5.2.1 cfn-lint==1.51.0')]);
    expect(readFileSync(join(root, '.venv', 'bin', 'pip-args'), 'utf8')).toContain(
      'install --disable-pip-version-check --quiet moto[server]==5.2.1 cfn-lint==1.51.0',
    );
  });

  it.each([
    {
      name: 'pip cannot reach an index',
      python: () => fakePython(PIP_OFFLINE),
      reason:
        '`.venv/bin/pip install moto[server]==5.2.1 cfn-lint==1.51.0` failed (ERROR: Could not find a version',
    },
    {
      name: 'there is no Python',
      python: () => join(root, 'no-such-python3'),
      reason: '-m venv .venv` failed (spawnSync',
    },
    {
      name: 'pip succeeds but provides no tool',
      python: () => fakePython('exit 0'),
      reason: 'the install into .venv did not provide moto_server and cfn-lint',
    },
  ])(
    'fails with one message saying what to install when $name, and leaves no .venv',
    ({ python, reason }) => {
      const attempt = () =>
        ensurePythonTools({ env: { PATH: join(root, 'bin') }, root, python: python(), log: quiet });

      expect(attempt).toThrow(PythonToolsMissingError);
      expect(attempt).toThrow(reason);
      expect(attempt).toThrow(
        `python3 -m pip install '${PYTHON_TOOLS.moto_server}' '${PYTHON_TOOLS['cfn-lint']}'`,
      );
      expect(findPythonTool('pip', { env: { PATH: '' }, root })).toBeUndefined();
    },
  );
});
