/**
 * A raised hand lives in the participant's metadata as JSON, `{"hand":true}`; other keys an application keeps there
 * are left as they are. Metadata that is not a JSON object reads as no hand.
 */
export function handRaised(metadata: string | undefined): boolean {
  return metadataObject(metadata).hand === true;
}

/** `metadata` with the hand raised or lowered. */
export function withHand(metadata: string | undefined, raised: boolean): string {
  return JSON.stringify({ ...metadataObject(metadata), hand: raised });
}

function metadataObject(metadata: string | undefined): Record<string, unknown> {
  if (metadata === undefined || metadata === '') return {};
  try {
    const parsed: unknown = JSON.parse(metadata);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
