import { PermissionError } from '../errors.js';
import { sendingMediaSections } from '../peer/sdp-sections.js';
import type { Grants, ParticipantPermissions, PermissionsUpdate, TrackDescription, TrackSource } from '../sfu-types.js';

/** What a change of permissions takes away, for the participant to act on (unpublish, unsubscribe). */
export interface PermissionsChange {
  /** Sources it may no longer publish (every one when canPublish was revoked). */
  revokedSource: (source: TrackSource) => boolean;
  subscribeRevoked: boolean;
  subscribeGranted: boolean;
}

/**
 * A participant's permissions for its session: its token's grants, changed by moderators since. `roomAdmin` and
 * `hidden` come from the token only. A rejoin starts again from the token (as in LiveKit).
 */
export class Permissions {
  readonly hidden: boolean;
  #value: ParticipantPermissions;

  constructor(grants: Grants) {
    this.hidden = grants.hidden === true;
    this.#value = {
      canPublish: grants.canPublish,
      canSubscribe: grants.canSubscribe,
      canPublishData: grants.canPublishData,
      ...(grants.canPublishSources ? { canPublishSources: [...new Set(grants.canPublishSources)] } : {}),
      canUpdateOwnMetadata: grants.canUpdateOwnMetadata === true,
      roomAdmin: grants.roomAdmin === true,
    };
  }

  get value(): Readonly<ParticipantPermissions> {
    return this.#value;
  }

  /** A copy for snapshots (the array is not shared with the caller). */
  snapshot(): ParticipantPermissions {
    const { canPublishSources, ...rest } = this.#value;
    return { ...rest, ...(canPublishSources ? { canPublishSources: [...canPublishSources] } : {}) };
  }

  /** Whether it may publish `source` now (hidden participants never publish). */
  allowsPublishing(source: TrackSource): boolean {
    return !this.hidden && publishes(this.#value, source);
  }

  /**
   * Throws a PermissionError unless every m-line a publish offer starts sending (not among `publishedMids`) carries a
   * source it may publish now (an m-line without a description counts as `unknown`).
   */
  checkOffer(sdp: string, descriptions: readonly TrackDescription[], publishedMids: ReadonlySet<string>): void {
    if (this.hidden) throw new PermissionError('a hidden participant cannot publish');
    if (!this.#value.canPublish) throw new PermissionError('this participant may not publish (canPublish)');
    const sources = new Map(descriptions.map((d) => [d.mid, d.source]));
    for (const section of sendingMediaSections(sdp)) {
      if (section.mid === undefined || publishedMids.has(section.mid)) continue;
      const source = sources.get(section.mid) ?? 'unknown';
      if (!this.allowsPublishing(source)) throw new PermissionError(`this participant may not publish the source "${source}" (canPublishSources)`);
    }
  }

  /** Applies a moderator's change; returns what it took away and gave, or undefined when nothing changed. */
  update(update: PermissionsUpdate): PermissionsChange | undefined {
    const before = this.#value;
    const next: ParticipantPermissions = { ...before };
    if (update.canPublish !== undefined) next.canPublish = update.canPublish;
    if (update.canSubscribe !== undefined) next.canSubscribe = update.canSubscribe;
    if (update.canPublishData !== undefined) next.canPublishData = update.canPublishData;
    if (update.canUpdateOwnMetadata !== undefined) next.canUpdateOwnMetadata = update.canUpdateOwnMetadata;
    if (update.canPublishSources !== undefined) next.canPublishSources = [...new Set(update.canPublishSources)];
    if (samePermissions(before, next)) return undefined;
    this.#value = next;
    return {
      revokedSource: (source) => publishes(before, source) && !this.allowsPublishing(source),
      subscribeRevoked: before.canSubscribe && !next.canSubscribe,
      subscribeGranted: !before.canSubscribe && next.canSubscribe,
    };
  }
}

/** Whether `permissions` let `source` be published (hidden aside). */
function publishes(permissions: ParticipantPermissions, source: TrackSource): boolean {
  return permissions.canPublish && (!permissions.canPublishSources || permissions.canPublishSources.includes(source));
}

function samePermissions(a: ParticipantPermissions, b: ParticipantPermissions): boolean {
  const sources = (p: ParticipantPermissions) => (p.canPublishSources ? [...p.canPublishSources].sort().join(',') : '*');
  return (
    a.canPublish === b.canPublish &&
    a.canSubscribe === b.canSubscribe &&
    a.canPublishData === b.canPublishData &&
    a.canUpdateOwnMetadata === b.canUpdateOwnMetadata &&
    sources(a) === sources(b)
  );
}
