import { Annotations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** A setting (a construct prop or a context value) that cannot be deployed; the message names it and the value. */
export class SettingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingError';
  }
}

/**
 * `check()`, or, when it throws a SettingError, `fallback()` with the message reported as an error of `scope`
 * through CDK's annotations: `cdk synth` then prints it as one line (`[Error at /Stack/Construct] …`) and fails,
 * from a TypeScript or a JavaScript app alike, where a thrown error would end in a stack trace. The fallback (a
 * default) lets the construct finish, so that nothing else throws over the bad value.
 */
export function reportedSetting<T>(scope: IConstruct, check: () => T, fallback: () => T): T {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof SettingError)) throw error;
    Annotations.of(scope).addError(error.message);
    return fallback();
  }
}
