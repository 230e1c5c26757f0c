/** Webhooks (LiveKit's): signed HTTP POSTs of room, participant and track events. Imports nothing of sfu/, signaling/, turn/ or cluster/. */
export { WebhookSender, redactUrl, type WebhookSenderDeps, type WebhookEventInput } from './webhook-sender.js';
export { defaultWebhookOptions, type WebhookOptions } from './webhook-options.js';
export { signWebhook, verifyWebhook, SIGNATURE_HEADER, KEY_HEADER } from './signature.js';
export { backoffDelayMs, retryAfterMs, isRetryableStatus } from './backoff.js';
export { newRoomSid, type WebhookEvent, type WebhookEventName, type WebhookParticipant, type WebhookRoom, type WebhookTrack } from './webhook-event.js';
