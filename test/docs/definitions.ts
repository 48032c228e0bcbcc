/**
 * The code's own definitions of every documented option, read from the sources: the props interfaces the package
 * exports (with the TypeScript compiler API), the context keys, the environment variables, the CLI's options and
 * exit codes. docs/configuration.md is checked against these.
 */

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface PropDefinition {
  readonly name: string;
  readonly optional: boolean;
  /** The `@default` tag of its doc comment, if any. */
  readonly defaultTag: string | undefined;
}

/** The props interfaces the package root exports, by name, each with its own members (not inherited ones). */
export function exportedPropsInterfaces(): Map<string, PropDefinition[]> {
  const index = readFileSync(`${ROOT}infra/index.ts`, 'utf8');
  const exported = new Map<string, string>(); // interface name -> module
  for (const block of index.matchAll(/export \{([^}]*)\} from '(\.\/[^']+)'/g)) {
    for (const name of (block[1] ?? '').matchAll(/type (\w+(?:Props|Settings|Access))\b/g)) {
      exported.set(name[1] as string, block[2] as string);
    }
  }
  const result = new Map<string, PropDefinition[]>();
  for (const [name, module] of exported) {
    const file = `${ROOT}infra/${module.slice(2)}`;
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const found = source.statements.find(
      (statement): statement is ts.InterfaceDeclaration =>
        ts.isInterfaceDeclaration(statement) && statement.name.text === name,
    );
    if (found === undefined) throw new Error(`interface ${name} is not declared in ${module}`);
    result.set(
      name,
      found.members.filter(ts.isPropertySignature).map((member) => ({
        name: member.name.getText(source),
        optional: member.questionToken !== undefined,
        defaultTag: ts
          .getJSDocTags(member)
          .find((tag) => tag.tagName.text === 'default')
          ?.comment?.toString(),
      })),
    );
  }
  return result;
}
