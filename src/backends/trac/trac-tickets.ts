/**
 * Reading and changing Trac tickets over XML-RPC, as the TracTracker does it:
 * - `get` reads one ticket (ticket.get), `getMany` reads many with one
 *   `system.multicall` per hundred ids, leaving out those deleted meanwhile;
 * - `update` sends one ticket.update with the `_ts` of the ticket as read,
 *   awaiting `beforeWrite` first; it is sent a second time only after Trac
 *   refused it as a mid-air collision (the ticket changed since it was
 *   read: nothing was written), with a fresh `_ts`;
 * - `workflow` runs a workflow action found with ticket.getActions (Trac's
 *   workflows are configurable), with the inputs the action asks for.
 */

import { LogticketsError } from '../../errors.js';
import type { TrackerCallOptions, TrackerWriteOptions } from '../tracker/tracker.js';
import type { XmlRpcClient } from './xmlrpc-client.js';

export interface TracTicket {
  readonly id: number;
  readonly created: Date;
  readonly changed: Date;
  readonly attrs: Record<string, string>;
}

/** ticket.getActions: name, label, hint, and the inputs as [field name, default value, choices]. */
export type TracAction = [string, string, string, Array<[string, string, string[]]>];

type TicketAnswer = [number, Date, Date, Record<string, string>];

/** Ids read in one multicall. */
const PER_MULTICALL = 100;

export interface TracTicketsOptions {
  readonly rpc: XmlRpcClient;
  /** The tracker's name, for warnings. */
  readonly name: string;
  readonly warn: (key: string, message: string) => void;
}

export class TracTickets {
  constructor(private readonly options: TracTicketsOptions) {}

  async get(id: number, options: TrackerCallOptions | undefined): Promise<TracTicket> {
    return ticketOf(await this.options.rpc.call<TicketAnswer>('ticket.get', [id], signal(options)));
  }

  /**
   * The tickets of `ids`, in their order, read a hundred at a time in one
   * request each. A ticket that no longer exists (fault 404) is left out;
   * any other fault fails the whole read. A fault without a code (Trac's
   * XML-RPC plugin gives none inside a multicall) is asked again alone,
   * where Trac says which it is: only a deleted ticket costs a request more.
   */
  async getMany(ids: readonly number[], options: TrackerCallOptions | undefined): Promise<TracTicket[]> {
    const tickets: TracTicket[] = [];
    for (let start = 0; start < ids.length; start += PER_MULTICALL) {
      const page = ids.slice(start, start + PER_MULTICALL);
      const answers = await this.options.rpc.multicall<TicketAnswer>(
        page.map((id) => ({ method: 'ticket.get', params: [id] })),
        signal(options),
      );
      for (const [i, answer] of answers.entries()) {
        if (answer.ok) {
          tickets.push(ticketOf(answer.value));
          continue;
        }
        if (answer.fault.faultCode === 404) continue;
        if (answer.fault.faultCode !== undefined) throw answer.fault;
        try {
          tickets.push(await this.get(page[i]!, options));
        } catch (error) {
          if (!(error instanceof LogticketsError && error.faultCode === 404)) throw error;
        }
      }
    }
    return tickets;
  }

  /** The workflow actions the user may take on the ticket now. */
  actions(ticket: TracTicket, options: TrackerCallOptions | undefined): Promise<TracAction[]> {
    return this.options.rpc.call<TracAction[]>('ticket.getActions', [ticket.id], signal(options));
  }

  /**
   * Comment and change attributes in one ticket.update (see the top of this
   * file for when it is sent again; `again: false`: never, the collision is
   * thrown as Trac gave it).
   */
  async update(
    ticket: TracTicket,
    comment: string,
    attributes: Record<string, string>,
    options: TrackerWriteOptions | undefined,
    again = true,
  ): Promise<void> {
    let ts = ticket.attrs._ts ?? '';
    for (let attempt = 1; ; attempt++) {
      await options?.beforeWrite?.();
      try {
        await this.options.rpc.call(
          'ticket.update',
          [ticket.id, comment, { ...attributes, _ts: ts }, false],
          signal(options),
        );
        return;
      } catch (error) {
        if (!again || attempt > 1 || !midAirCollision(error)) throw error;
      }
      ts = (await this.get(ticket.id, options)).attrs._ts ?? '';
    }
  }

  /**
   * Run a workflow action by name, with its inputs at their defaults. Without
   * such an action now, the comment is made alone (action `leave`) and a
   * warning says why.
   */
  async workflow(
    ticket: TracTicket,
    action: string,
    comment: string,
    options: TrackerWriteOptions | undefined,
    extra: Record<string, string> = {},
  ): Promise<void> {
    const found = (await this.actions(ticket, options)).find(([name]) => name === action);
    if (found === undefined) {
      this.options.warn(
        `no-${action}`,
        `${this.options.name}: ticket #${ticket.id} has no "${action}" action in its workflow now; commenting only`,
      );
      await this.update(ticket, comment, { action: 'leave', ...extra }, options);
      return;
    }
    await this.update(ticket, comment, { action, ...inputsOf(found), ...extra }, options);
  }
}

/** The inputs of an action, at their default values. */
export function inputsOf(action: TracAction): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const [input, value] of action[3] ?? []) inputs[input] = value;
  return inputs;
}

/** The keywords of a ticket, one word each. */
export function keywordsOf(attrs: Record<string, string>): string[] {
  return (attrs.keywords ?? '').split(/[\s,]+/).filter((k) => k !== '');
}

function ticketOf([id, created, changed, attrs]: TicketAnswer): TracTicket {
  return { id, created, changed, attrs };
}

/** Trac's fault for an update based on an outdated `_ts`: refused before anything was written. */
export function midAirCollision(error: unknown): boolean {
  return error instanceof LogticketsError && error.faultCode === 1 && /modified|updated since/i.test(error.message);
}

export function signal(options: TrackerCallOptions | undefined): { signal?: AbortSignal } {
  return options?.signal === undefined ? {} : { signal: options.signal };
}
