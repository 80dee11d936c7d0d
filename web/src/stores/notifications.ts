// Alerts for new conversations and new customer messages: a short beep made with WebAudio (no audio file)
// and, once the user allowed it from a button, a desktop notification while the tab is in the background.
// One switch mutes both; the choice is kept in localStorage.
import { reactive, readonly } from 'vue';

const MUTE_KEY = 'parley.notify.muted';

type Permission = NotificationPermission | 'unsupported';

interface State {
  muted: boolean;
  permission: Permission;
}

function storedMuted(): boolean {
  try {
    return localStorage.getItem(MUTE_KEY) === '1';
  } catch {
    return false;
  }
}

function currentPermission(): Permission {
  return typeof window !== 'undefined' && 'Notification' in window ? Notification.permission : 'unsupported';
}

const state = reactive<State>({ muted: storedMuted(), permission: currentPermission() });

export function setMuted(muted: boolean): void {
  state.muted = muted;
  try {
    localStorage.setItem(MUTE_KEY, muted ? '1' : '0');
  } catch {
    /* storage disabled */
  }
}

/** Asks for desktop notifications. Call it from a click: browsers ignore requests made on page load. */
export async function requestDesktopPermission(): Promise<Permission> {
  if (currentPermission() === 'unsupported') return (state.permission = 'unsupported');
  try {
    state.permission = await Notification.requestPermission();
  } catch {
    state.permission = currentPermission();
  }
  return state.permission;
}

// ---- sound ----

let audio: AudioContext | null = null;

function audioContext(): AudioContext | null {
  if (audio) return audio;
  const Ctor = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
  if (!Ctor) return null;
  try {
    audio = new Ctor();
  } catch {
    audio = null;
  }
  return audio;
}

// Browsers keep an AudioContext suspended until the page gets a user gesture: make (or resume) it on the
// first click or key press, so a later beep can play.
function unlock(): void {
  const ctx = audioContext();
  if (ctx && ctx.state === 'suspended') void ctx.resume().catch(() => undefined);
}
if (typeof window !== 'undefined') {
  window.addEventListener('pointerdown', unlock, { capture: true, passive: true });
  window.addEventListener('keydown', unlock, { capture: true, passive: true });
}

let lastBeep = 0;

/** Two short rising tones, about 0.3 s in all. Repeated beeps within a second are merged. */
export function beep(): void {
  const now = Date.now();
  if (now - lastBeep < 1000) return;
  lastBeep = now;
  const ctx = audioContext();
  if (!ctx) return;
  if (ctx.state === 'suspended') void ctx.resume().catch(() => undefined);
  const t0 = ctx.currentTime + 0.01;
  const tones: [number, number][] = [
    [880, 0],
    [1320, 0.14],
  ];
  for (const [freq, offset] of tones) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = 'sine';
    osc.frequency.value = freq;
    const start = t0 + offset;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.25, start + 0.015);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.13);
    osc.connect(gain).connect(ctx.destination);
    osc.start(start);
    osc.stop(start + 0.15);
  }
}

export interface Alert {
  title: string;
  body: string;
  /** Notifications with the same tag replace each other (one per conversation). */
  tag: string;
  onClick?: () => void;
}

/** Plays the sound and, when the tab is not in front, shows a desktop notification. Nothing when muted. */
export function alertUser(a: Alert): void {
  if (state.muted) return;
  beep();
  state.permission = currentPermission();
  const inFront = document.visibilityState === 'visible' && document.hasFocus();
  if (state.permission !== 'granted' || inFront) return;
  try {
    const n = new Notification(a.title, { body: a.body, tag: a.tag });
    n.onclick = () => {
      window.focus();
      a.onClick?.();
      n.close();
    };
  } catch {
    /* some browsers only allow notifications from a service worker */
  }
}

export function useNotifications() {
  return { state: readonly(state) };
}
