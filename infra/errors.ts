/** A setting (a construct prop or a context value) that cannot be deployed; the message names it and the value. */
export class SettingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingError';
  }
}
