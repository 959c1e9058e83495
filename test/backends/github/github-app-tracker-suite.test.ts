// The whole tracker suite again, authenticated as a GitHub App installation
// whose tokens live 6 s: renewals in the middle
// of deliveries lose nothing and repeat nothing.
import test from 'ava';
import { trackerSuite } from '../../conformance/tracker-suite.js';
import { githubHarness } from './github-harness.js';

trackerSuite(test, 'GitHub App', githubHarness('app'), true);
