/** Base class for errors with a stable code, so callers branch on codes, not messages. */
export class PetrelError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "PetrelError";
  }
}

export class ConfigError extends PetrelError {
  constructor(message: string) {
    super("CONFIG", message);
    this.name = "ConfigError";
  }
}
