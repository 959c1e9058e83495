import test from 'ava';
import { MemoryBackend } from '../../../src/index.js';
import { backendSuite } from '../../conformance/backend-suite.js';

// The reference backend: the plainest statement of the contract.
backendSuite(
  test,
  async () => {
    const backend = new MemoryBackend();
    return { backend, sibling: () => backend };
  },
  { nul: 'kept' },
);
