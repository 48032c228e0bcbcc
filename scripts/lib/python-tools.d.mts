/** Types of scripts/lib/python-tools.mjs, for the TypeScript scripts and tests that import it. */

type Env = Readonly<Record<string, string | undefined>>;

export const PYTHON_TOOLS: Readonly<Record<string, string>>;
export class PythonToolsMissingError extends Error {}
export function venvDirectory(root?: string, env?: Env): string;
export function findPythonTool(name: string, options?: { env?: Env; root?: string }): string | undefined;
export function installAdvice(names?: readonly string[]): string;
export function ensurePythonTools(options?: {
  names?: readonly string[];
  env?: Env;
  root?: string;
  python?: string;
  log?: (line: string) => void;
}): Record<string, string>;
