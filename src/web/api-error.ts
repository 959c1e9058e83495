/**
 * An error the dashboard answers with: an HTTP status and a one-line message
 * naming what was wrong (the parameter, the ticket). Never carries a store's
 * credentials: messages are made here, or are the store's own checked ones.
 */
export class ApiError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}
