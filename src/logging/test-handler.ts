/**
 * A handler that keeps the records it handles in memory, for tests: of your
 * application (did this code path log an error?) and of logtickets itself.
 */

import { Handler, type HandlerOptions } from './handler.js';
import type { LogRecord } from './record.js';

export class TestHandler extends Handler {
  readonly records: LogRecord[] = [];

  constructor(options: HandlerOptions = {}) {
    super(options);
  }

  handle(record: LogRecord): void {
    this.records.push(record);
  }

  /** True when some record's formatted message contains `text`. */
  hasMessage(text: string): boolean {
    return this.records.some((r) => r.message.includes(text));
  }
}
