/** The shapes of the JSON API's answers that the pages read (src/web/api.ts makes them). */

export interface TicketView {
  readonly id: number;
  readonly hash: string;
  readonly appId: string;
  readonly level: number;
  readonly levelName: string;
  readonly channel: string;
  readonly location: string;
  readonly function: string | null;
  readonly title: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly occurrenceCount: number;
  readonly state: string;
  readonly solvedAt: string | null;
  readonly mutedAt: string | null;
  readonly regressionCount: number;
  readonly lastRegressionAt: string | null;
  readonly stateChangedAt: string | null;
  readonly firstRelease: string | null;
  readonly lastRelease: string | null;
  readonly environments: readonly string[];
  readonly solvedInRelease: string | null;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface OccurrenceView {
  readonly id: number;
  readonly ticketId: number;
  readonly time: string;
  readonly data: Json;
  readonly release: string | null;
  readonly environment: string | null;
}
