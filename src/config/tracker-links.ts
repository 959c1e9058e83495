/**
 * The trackers of a config as far as links need them: each one's name (the
 * key of its links in the store) and how its ticket URLs look. Made from the
 * config alone — no client, no credentials — so commands that only read the
 * store can show where each ticket lives.
 */

import { githubIssueUrl } from '../backends/github/github-setup-check.js';
import { githubTrackerName } from '../backends/github/github-tracker.js';
import { tracTicketUrl } from '../backends/trac/trac-setup-check.js';
import { tracTrackerName } from '../backends/trac/trac-tracker.js';
import type { LinkedTracker } from '../backends/tracker/ticket-links.js';
import type { LogticketsConfig } from './config-schema.js';

/** A tracker whose address was not read (a variable, with `storeOnly`) is left out: its links cannot be named. */
export function linkedTrackers(config: LogticketsConfig | undefined): LinkedTracker[] {
  return (config?.trackers ?? []).filter(addressed).map((tracker) => {
    const label = tracker.name ?? tracker.type;
    if (tracker.type === 'trac') {
      return { name: tracTrackerName(tracker.url), label, ticketUrl: (id: string) => tracTicketUrl(tracker.url, id) };
    }
    return {
      name: githubTrackerName(tracker.baseUrl, tracker.owner, tracker.repo),
      label,
      ticketUrl: (id: string) => githubIssueUrl(tracker.baseUrl, tracker.owner, tracker.repo, id),
    };
  });
}

function addressed(tracker: NonNullable<LogticketsConfig['trackers']>[number]): boolean {
  try {
    if (tracker.type === 'trac') new URL(tracker.url);
    else if (tracker.baseUrl !== undefined) new URL(tracker.baseUrl);
    return tracker.type === 'trac' || (/^[\w.-]+$/.test(tracker.owner) && /^[\w.-]+$/.test(tracker.repo));
  } catch {
    return false;
  }
}
