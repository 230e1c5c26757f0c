/**
 * This participant's own controls and media: the camera/microphone button (enabled only while the room lets it
 * publish: a student once the teacher allows it to speak), the microphone mute button, raise/lower hand, and the
 * notice shown when the teacher asks to unmute (its button unmutes).
 */
import type { LocalTrack, Room } from '../sdk/index.js';
import { handRaised, withHand } from './hand.js';
import type { TileGrid } from './tiles.js';

export interface SelfControlsUi {
  publishButton: HTMLButtonElement;
  micButton: HTMLButtonElement;
  handButton: HTMLButtonElement;
  publishHint: HTMLElement;
  cameraCheckbox: HTMLInputElement;
  microphoneCheckbox: HTMLInputElement;
  unmuteRequest: HTMLElement;
  unmuteRequestText: HTMLElement;
  acceptUnmuteButton: HTMLButtonElement;
  dismissUnmuteButton: HTMLButtonElement;
}

const LOCAL_CAMERA = 'local-camera';

export class SelfControls {
  #room: Room | undefined;
  #stream: MediaStream | undefined;
  #publishing = false;
  /** The track the teacher asked to unmute, while its notice shows. */
  #unmuteTrackId: string | undefined;

  constructor(
    private readonly ui: SelfControlsUi,
    private readonly tiles: TileGrid,
    private readonly notify: (text: string) => void,
  ) {
    ui.publishButton.addEventListener('click', () => void this.publish());
    ui.micButton.addEventListener('click', () => void this.#toggleMicrophone());
    ui.handButton.addEventListener('click', () => void this.#toggleHand());
    ui.acceptUnmuteButton.addEventListener('click', () => void this.#acceptUnmute());
    ui.dismissUnmuteButton.addEventListener('click', () => this.#hideUnmuteRequest());
  }

  attach(room: Room): void {
    this.#room = room;
    room.on('unmuteRequested', (trackId, by) => {
      const local = room.localTracks.get(trackId);
      if (local === undefined) return;
      this.#unmuteTrackId = trackId;
      this.ui.unmuteRequestText.textContent = `${by} asks you to unmute your ${local.source === 'microphone' ? 'microphone' : local.source}.`;
      this.ui.unmuteRequest.hidden = false;
      this.ui.acceptUnmuteButton.focus();
    });
    // A permission taken away: the SDK stopped sending the track; the page stops capturing it.
    room.on('localTrackUnpublished', (trackId) => this.#dropTrack(trackId));
    this.refresh();
  }

  /** Captures what the join form asks for (both when it asks for neither) and publishes it. */
  async publish(): Promise<void> {
    const room = this.#room;
    if (room === undefined || this.#publishing || this.#stream !== undefined) return;
    const video = this.ui.cameraCheckbox.checked || !this.ui.microphoneCheckbox.checked;
    const audio = this.ui.microphoneCheckbox.checked || !this.ui.cameraCheckbox.checked;
    this.#publishing = true;
    this.refresh();
    try {
      this.#stream = await navigator.mediaDevices.getUserMedia({ video, audio });
      if (this.#room !== room || !room.connected) return this.stop();
      const videoTrack = this.#stream.getVideoTracks()[0];
      if (videoTrack !== undefined) this.tiles.attach(room.localIdentity, LOCAL_CAMERA, videoTrack);
      await room.publish(this.#stream);
    } catch (err) {
      this.stop();
      this.notify(`Could not publish camera/microphone: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.#publishing = false;
      this.refresh();
    }
  }

  /** Brings the buttons in line with the room: permissions, own tracks, own hand. */
  refresh(): void {
    const room = this.#room;
    const { ui } = this;
    const permissions = room?.localParticipant.permissions;
    const allowed = permissions?.canPublish === true;
    ui.publishButton.disabled = !allowed || this.#publishing || this.#stream !== undefined;
    ui.publishHint.hidden = allowed || permissions === undefined;
    const microphone = this.#microphone();
    ui.micButton.hidden = microphone === undefined;
    ui.micButton.textContent = microphone?.muted ? 'Unmute microphone' : 'Mute microphone';
    ui.micButton.setAttribute('aria-pressed', String(microphone?.muted === true));
    // The teacher moderates; a hand is for those who need the floor.
    ui.handButton.hidden = permissions === undefined || permissions.roomAdmin || !permissions.canUpdateOwnMetadata;
    const raised = room !== undefined && handRaised(room.localParticipant.metadata);
    ui.handButton.textContent = raised ? 'Lower hand' : 'Raise hand';
    ui.handButton.setAttribute('aria-pressed', String(raised));
    if (this.#unmuteTrackId !== undefined && !this.#localTrack(this.#unmuteTrackId)?.muted) this.#hideUnmuteRequest();
  }

  /** The room closed: stop capturing, forget it. */
  detach(): void {
    this.#room = undefined;
    this.stop();
    this.#hideUnmuteRequest();
    this.refresh();
  }

  stop(): void {
    for (const track of this.#stream?.getTracks() ?? []) track.stop();
    this.#stream = undefined;
  }

  #microphone(): LocalTrack | undefined {
    return [...(this.#room?.localTracks.values() ?? [])].find((t) => t.source === 'microphone');
  }

  #localTrack(trackId: string): LocalTrack | undefined {
    return this.#room?.localTracks.get(trackId);
  }

  #dropTrack(trackId: string): void {
    const room = this.#room;
    const stream = this.#stream;
    if (room === undefined || stream === undefined) return;
    // The SDK forgot the track already: drop whichever captured track it no longer publishes.
    const published = new Set([...room.localTracks.values()].map((t) => t.track));
    for (const track of stream.getTracks()) {
      if (published.has(track)) continue;
      if (track.kind === 'video') this.tiles.detach(room.localIdentity, LOCAL_CAMERA);
      track.stop();
      stream.removeTrack(track);
    }
    if (stream.getTracks().length === 0) this.#stream = undefined;
    if (trackId === this.#unmuteTrackId) this.#hideUnmuteRequest();
    this.refresh();
  }

  async #toggleMicrophone(): Promise<void> {
    const microphone = this.#microphone();
    if (microphone === undefined) return;
    await this.#act(() => (microphone.muted ? microphone.unmute() : microphone.mute()), this.ui.micButton);
  }

  async #toggleHand(): Promise<void> {
    const room = this.#room;
    if (room === undefined) return;
    const metadata = withHand(room.localParticipant.metadata, !handRaised(room.localParticipant.metadata));
    await this.#act(() => room.setMetadata(metadata), this.ui.handButton);
  }

  async #acceptUnmute(): Promise<void> {
    const local = this.#unmuteTrackId === undefined ? undefined : this.#localTrack(this.#unmuteTrackId);
    this.#hideUnmuteRequest();
    if (local !== undefined) await this.#act(() => local.unmute(), this.ui.micButton);
  }

  #hideUnmuteRequest(): void {
    this.#unmuteTrackId = undefined;
    this.ui.unmuteRequest.hidden = true;
  }

  /** Runs a request with its button disabled meanwhile; a refusal shows as the page's notice. */
  async #act(request: () => Promise<void>, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    try {
      await request();
    } catch (err) {
      this.notify(err instanceof Error ? err.message : String(err));
    } finally {
      button.disabled = false;
      this.refresh();
    }
  }
}
