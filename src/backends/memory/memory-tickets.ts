/**
 * The tickets, occurrences and releases of the in-memory reference store,
 * and recording a batch into them: the plainest statement of the rules
 * (ticket-merge.ts) that every store follows.
 */

import type { TicketEvent } from '../analytics.js';
import { isoTime, ticketKey, type ReleaseMark, type TicketDelta } from '../batch.js';
import type { RecordOutcome, StoredOccurrence, Ticket, TicketFilter } from '../contract.js';
import { filterStates } from '../query-options.js';
import { newestRelease } from '../release-order.js';
import { firstEnvironments, planMerge, type FirstSeen } from '../ticket-merge.js';
import { stateOf } from '../ticket-state.js';
import { clone } from './memory-outbox.js';

/** What the store keeps of a ticket: `muted` and `state` are derived when read; the release marks keep their times. */
export type StoredTicket = {
  -readonly [K in keyof Omit<Ticket, 'muted' | 'state' | 'environments' | 'firstRelease' | 'lastRelease'>]: Ticket[K];
} & {
  environments: readonly string[];
  firstRelease: ReleaseMark | null;
  lastRelease: ReleaseMark | null;
};

/** An occurrence as the store keeps it: with how many it stands for (OccurrenceInput.count). */
export interface MemoryOccurrence extends StoredOccurrence {
  readonly weight: number;
}

export class MemoryTickets {
  readonly tickets = new Map<number, StoredTicket>();
  readonly byKey = new Map<string, number>();
  readonly occurrences = new Map<number, MemoryOccurrence[]>();
  /** Each ticket's history of state changes and regressions, in the order they were made. */
  readonly events = new Map<number, TicketEvent[]>();
  /** First sightings: app id and release (ticketKey) → time. */
  private readonly releases = new Map<string, string>();
  private nextTicketId = 1;
  private nextOccurrenceId = 1;

  /** Count one batch's occurrences of a ticket into it, creating or reopening it as needed. */
  record(delta: TicketDelta, graceMs: number): RecordOutcome {
    for (const [release, time] of delta.releases) {
      const key = ticketKey(delta.appId, release);
      const seen = this.releases.get(key);
      if (seen === undefined || time < seen) this.releases.set(key, time);
    }
    const key = ticketKey(delta.appId, delta.hash);
    let id = this.byKey.get(key);
    let created = false;
    let regressed = false;
    if (id === undefined) {
      id = this.nextTicketId++;
      created = true;
      this.byKey.set(key, id);
      this.tickets.set(id, {
        id,
        hash: delta.hash,
        appId: delta.appId,
        level: delta.level,
        channel: delta.channel,
        location: delta.location,
        function: delta.function,
        title: delta.title,
        firstSeen: isoTime(delta.firstSeen),
        lastSeen: isoTime(delta.lastSeen),
        occurrenceCount: delta.count,
        solved: false,
        solvedAt: null,
        regressionCount: 0,
        lastRegressionAt: null,
        mutedAt: null,
        stateChangedAt: null,
        environments: firstEnvironments(delta),
        firstRelease: delta.firstRelease,
        lastRelease: delta.lastRelease,
        solvedInRelease: null,
      });
      this.occurrences.set(id, []);
    } else {
      const ticket = this.tickets.get(id)!;
      const plan = planMerge(ticket, delta, graceMs, this.firstSeen(delta.appId));
      if (plan.regressed) {
        regressed = true;
        ticket.solved = false;
        ticket.solvedAt = null;
        ticket.solvedInRelease = null;
        ticket.regressionCount += 1;
        ticket.lastRegressionAt = plan.regressedAt;
        ticket.stateChangedAt = plan.regressedAt;
        this.addEvent({ ticketId: id, kind: 'regressed', at: plan.regressedAt!, release: plan.regressedRelease });
      }
      ticket.occurrenceCount += delta.count;
      const lastSeen = isoTime(delta.lastSeen);
      if (lastSeen > ticket.lastSeen) ticket.lastSeen = lastSeen;
      const firstSeen = isoTime(delta.firstSeen);
      if (firstSeen < ticket.firstSeen) ticket.firstSeen = firstSeen;
      ticket.environments = plan.environments ?? ticket.environments;
      ticket.firstRelease = plan.firstRelease ?? ticket.firstRelease;
      ticket.lastRelease = plan.lastRelease ?? ticket.lastRelease;
    }
    const list = this.occurrences.get(id)!;
    for (const item of delta.occurrences) {
      list.push({
        id: this.nextOccurrenceId++,
        ticketId: id,
        time: isoTime(item.time),
        data: clone(item.data),
        release: item.release ?? null,
        environment: item.environment ?? null,
        weight: item.count ?? 1,
      });
    }
    const ticket = this.tickets.get(id)!;
    return {
      hash: delta.hash,
      appId: delta.appId,
      ticketId: id,
      created,
      regressed,
      occurrenceCount: ticket.occurrenceCount,
    };
  }

  currentOutcome(appId: string, hash: string): RecordOutcome {
    const ticket = this.tickets.get(this.byKey.get(ticketKey(appId, hash))!)!;
    return {
      hash,
      appId,
      ticketId: ticket.id,
      created: false,
      regressed: false,
      occurrenceCount: ticket.occurrenceCount,
    };
  }

  /** The first sightings of the releases of one app. */
  firstSeen(appId: string): FirstSeen {
    return (release) => this.releases.get(ticketKey(appId, release));
  }

  /** The newest release seen for an app (release-order.ts), or null. */
  newestRelease(appId: string): string | null {
    const prefix = ticketKey(appId, '');
    const seen = [...this.releases]
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, firstSeen]) => ({ release: key.slice(prefix.length), firstSeen }));
    return newestRelease(seen);
  }

  addEvent(event: TicketEvent): void {
    const list = this.events.get(event.ticketId);
    if (list === undefined) this.events.set(event.ticketId, [event]);
    else list.push(event);
  }

  delete(ticket: StoredTicket): void {
    this.tickets.delete(ticket.id);
    this.occurrences.delete(ticket.id);
    this.events.delete(ticket.id);
    this.byKey.delete(ticketKey(ticket.appId, ticket.hash));
  }

  /** Whether a ticket keeps an occurrence from this release. */
  hasRelease(id: number, release: string): boolean {
    return (this.occurrences.get(id) ?? []).some((o) => o.release === release);
  }

  matcher(f: TicketFilter): (ticket: Ticket) => boolean {
    const states = filterStates(f);
    // Case is ignored as JavaScript folds it; the text is matched as it is, no character is special.
    const search = f.search?.toLowerCase();
    return (ticket) =>
      (search === undefined || ticket.title.toLowerCase().includes(search)) &&
      (f.seenSince === undefined || ticket.lastSeen >= f.seenSince) &&
      (f.seenBefore === undefined || ticket.firstSeen < f.seenBefore) &&
      (f.hash === undefined || ticket.hash === f.hash) &&
      (f.solved === undefined || ticket.solved === f.solved) &&
      (states === undefined || states.includes(ticket.state)) &&
      (f.muted === undefined || ticket.muted === f.muted) &&
      (f.level === undefined || ticket.level === f.level) &&
      (f.minLevel === undefined || ticket.level >= f.minLevel) &&
      (f.appId === undefined || ticket.appId === f.appId) &&
      (f.channel === undefined || ticket.channel === f.channel) &&
      (f.environment === undefined || ticket.environments.includes(f.environment)) &&
      (f.release === undefined || this.hasRelease(ticket.id, f.release));
  }
}

/** A stored ticket as the contract shows it (a copy). */
export function view(t: StoredTicket): Ticket {
  return {
    ...t,
    muted: t.mutedAt !== null,
    state: stateOf(t),
    environments: [...t.environments],
    firstRelease: t.firstRelease?.release ?? null,
    lastRelease: t.lastRelease?.release ?? null,
  };
}
