// Pieces shared by the inbox and the ticket page: seq bookkeeping, the notification
// sound (mute remembered per user), the connection indicator, relative times, CSRF.
import { connectLive } from "./live.js";

export function createLiveState(initialSeq) {
  const seen = new Set();
  const order = [];
  return {
    lastSeq: Number.isFinite(initialSeq) ? initialSeq : null,
    // True the first time a seq is seen. Events come through several groups (queue,
    // user, ticket page), so the same seq may arrive more than once.
    accept(seq) {
      if (this.lastSeq == null || seq > this.lastSeq) this.lastSeq = seq;
      if (seen.has(seq)) return false;
      seen.add(seq); order.push(seq);
      if (order.length > 2000) seen.delete(order.shift());
      return true;
    },
  };
}

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function postForm(url, data, { json = true } = {}) {
  const body = new URLSearchParams(data);
  const response = await fetch(url, {
    method: "POST",
    body,
    credentials: "same-origin",
    headers: { "X-CSRFToken": csrfToken(), Accept: json ? "application/json" : "text/html" },
  });
  return response;
}

export function setupSound(url) {
  window.__atendeSoundPlays = window.__atendeSoundPlays || 0;
  const audio = url ? new Audio(url) : null;
  if (audio) audio.preload = "auto";
  const button = document.getElementById("sound-toggle");
  const enabled = () => document.body.dataset.sound !== "off";
  function render() {
    if (!button) return;
    const on = enabled();
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = on ? button.dataset.labelOn : button.dataset.labelOff;
  }
  button?.addEventListener("click", async () => {
    const next = !enabled();
    document.body.dataset.sound = next ? "on" : "off";
    render();
    try { await postForm(button.dataset.url, { enabled: next ? "1" : "0" }); } catch { /* retried on next click */ }
  });
  return {
    play() {
      if (!enabled() || !audio) return;
      window.__atendeSoundPlays += 1;
      audio.currentTime = 0;
      // Browsers may refuse sound before the first user gesture; nothing else to do then.
      audio.play().catch(() => {});
    },
  };
}

export function setupStatus(el) {
  return (state) => {
    if (!el) return;
    el.dataset.state = state;
    const label = el.dataset[`label${state.charAt(0).toUpperCase()}${state.slice(1)}`];
    if (label) el.textContent = label;
    el.title = label || state;
  };
}

const relative = new Intl.RelativeTimeFormat(document.documentElement.lang || undefined, { numeric: "auto" });

export function formatTimes(scope) {
  const now = Date.now();
  for (const el of scope.querySelectorAll("time[datetime]")) {
    const value = el.getAttribute("datetime");
    if (!value) continue;
    const at = new Date(value);
    if (Number.isNaN(at.getTime())) continue;
    const minutes = Math.round((at.getTime() - now) / 60000);
    if (el.dataset.format === "clock") {
      el.textContent = at.toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });
    } else if (Math.abs(minutes) < 60) {
      el.textContent = relative.format(minutes, "minute");
    } else if (Math.abs(minutes) < 24 * 60) {
      el.textContent = at.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
    } else {
      el.textContent = at.toLocaleDateString(undefined, { day: "2-digit", month: "short" });
    }
    el.title = at.toLocaleString();
  }
}

// The requester's socket (/ws/companies/<slug>/requester/) of the "My tickets" pages,
// with the page's connection indicator.
export function connectRequester(onEvent) {
  return connectLive({
    company: document.body.dataset.company,
    path: "requester/",
    onState: setupStatus(document.getElementById("live-status")),
    onEvent,
  });
}
