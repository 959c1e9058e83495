/**
 * How releases are ordered, the same in every store.
 *
 * Two releases that both read as semantic versions (a leading `v` or `=`
 * and surrounding blanks allowed: `v1.4.0`, `2.0.0-rc.1`) are ordered as
 * versions, so 1.10.0 comes after 1.9.0. Any other pair (commit hashes,
 * dates, build numbers, or a version and a name) is ordered by when each
 * release was first seen: the time of the earliest occurrence that carried
 * it, whatever order the occurrences arrived in. Releases first seen at the
 * same moment are ordered by name, so that the order is total. A release is
 * equal to itself only; two spellings of one version (`v1.2.3`, `1.2.3`)
 * are equal too.
 *
 * Pure: every store hands in the first sightings it keeps.
 */

import semver from 'semver';

/** The semantic version a release names (`v1.2.3` → `1.2.3`), or null when it names none. */
export function releaseVersion(release: string): string | null {
  return semver.valid(semver.clean(release));
}

/**
 * Negative when `a` comes before `b`, positive when after, 0 when they are
 * the same release. `firstSeenA` and `firstSeenB`: when each was first seen
 * (ISO 8601), used unless both are versions.
 */
export function compareReleases(a: string, b: string, firstSeenA: string, firstSeenB: string): number {
  if (a === b) return 0;
  const versionA = releaseVersion(a);
  const versionB = releaseVersion(b);
  if (versionA !== null && versionB !== null) return semver.compare(versionA, versionB);
  const seenA = Date.parse(firstSeenA);
  const seenB = Date.parse(firstSeenB);
  if (seenA !== seenB) return seenA < seenB ? -1 : 1;
  return a < b ? -1 : 1;
}

/** A release as a store keeps it: its name and its first sighting. */
export interface SeenRelease {
  readonly release: string;
  readonly firstSeen: string;
}

/**
 * The newest of `seen`, or null when it is empty. Versions and names may
 * mix, so the order of the list could matter: it is taken in the order of
 * first sighting, which makes the answer the same in every store.
 */
export function newestRelease(seen: readonly SeenRelease[]): string | null {
  const bySighting = [...seen].sort(
    (x, y) => Date.parse(x.firstSeen) - Date.parse(y.firstSeen) || (x.release < y.release ? -1 : 1),
  );
  let newest: SeenRelease | null = null;
  for (const candidate of bySighting) {
    if (
      newest === null ||
      compareReleases(candidate.release, newest.release, candidate.firstSeen, newest.firstSeen) > 0
    ) {
      newest = candidate;
    }
  }
  return newest?.release ?? null;
}
