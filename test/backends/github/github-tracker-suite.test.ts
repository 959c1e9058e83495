import test from 'ava';
import { trackerSuite } from '../../conformance/tracker-suite.js';
import { githubHarness } from './github-harness.js';

trackerSuite(test, 'GitHub', githubHarness('token'), true);
