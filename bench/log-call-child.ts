/** Runs scenario (a) in this process and prints its figures as one JSON line (see other-node.ts). */

import { logCall } from './log-call.js';

const figures = await logCall(Number(process.argv[2] ?? 40));
console.log(JSON.stringify({ version: process.versions.node, figures }));
