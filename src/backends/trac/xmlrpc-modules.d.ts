// Types for the two parts of the `xmlrpc` package that logtickets uses on their own.
declare module 'xmlrpc/lib/serializer.js' {
  const serializer: {
    serializeMethodCall(method: string, params?: unknown[], encoding?: string): string;
  };
  export default serializer;
}

declare module 'xmlrpc/lib/deserializer.js' {
  import type { Readable } from 'node:stream';
  class Deserializer {
    constructor(encoding?: string);
    deserializeMethodResponse(stream: Readable, callback: (error: unknown, result: unknown) => void): void;
    push(value: unknown): void;
    value: boolean;
  }
  export default Deserializer;
}

declare module 'xmlrpc/lib/customtype.js' {
  class CustomType {
    constructor(raw: string);
    raw: string;
    tagName: string;
  }
  export default CustomType;
}
