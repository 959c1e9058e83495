/** Kept for tracker code: the summary and its digest merge live with the store (../outbox-summary.ts). */

export { asSummary, merge, summarize, type OccurrenceSummary } from '../outbox-summary.js';
