// The ticket page: subscribes to its ticket over the websocket and fetches new thread
// items (server-rendered) when an event about it arrives; composer and quick replies.
import { connectLive } from "./live.js";
import { createLiveState, setupSound, setupStatus, formatTimes, postForm } from "./live-common.js";

const page = document.getElementById("ticket-page");
const thread = document.getElementById("thread");
const panel = document.getElementById("ticket-panel");
const composer = document.getElementById("composer");
const errorBox = document.getElementById("composer-error");
const textarea = composer.querySelector("textarea");
const ticketId = Number(page.dataset.id);
const cursors = { m: Number(page.dataset.lastMessage || 0), e: Number(page.dataset.lastEvent || 0) };
const state = createLiveState(Number(page.dataset.seq));
const sound = setupSound(page.dataset.soundUrl);
const toRefresh = new Set();
let refreshTimer = null;
let fetching = false;

function scrollToEnd() { thread.lastElementChild?.scrollIntoView({ block: "end" }); }

function insert(key, html) {
  if (thread.querySelector(`[data-key="${key}"]`)) return;
  const holder = document.createElement("template");
  holder.innerHTML = html.trim();
  const node = holder.content.firstElementChild;
  if (!node) return;
  thread.appendChild(node);
  formatTimes(node);
}

async function refresh() {
  if (fetching) { scheduleRefresh(); return; }
  fetching = true;
  const ids = [...toRefresh]; toRefresh.clear();
  const url = `${page.dataset.itemsUrl}?after_m=${cursors.m}&after_e=${cursors.e}&refresh=${ids.join(",")}`;
  try {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.status === 404) { gone(); return; }
    if (!response.ok) return;
    const data = await response.json();
    for (const item of data.items) {
      insert(item.key, item.html);
      const n = Number(item.key.slice(1));
      if (item.key[0] === "m") cursors.m = Math.max(cursors.m, n); else cursors.e = Math.max(cursors.e, n);
    }
    for (const [id, html] of Object.entries(data.refreshed)) {
      const old = thread.querySelector(`[data-message-id="${id}"]`);
      if (!old) continue;
      const holder = document.createElement("template");
      holder.innerHTML = html.trim();
      old.replaceWith(holder.content.firstElementChild);
    }
    updatePanel(data.panel);
    page.dataset.status = data.status;
    if (data.items.length) { formatTimes(thread); scrollToEnd(); }
  } finally {
    fetching = false;
  }
}

// Replace the side panel only when the ticket's state changed, so a form being filled
// is not wiped by an unrelated event; open boxes stay open.
function updatePanel(html) {
  const holder = document.createElement("template");
  holder.innerHTML = html.trim();
  const fresh = holder.content.querySelector(".panel-card");
  const current = panel.querySelector(".panel-card");
  if (!fresh || (current && current.dataset.sig === fresh.dataset.sig)) return;
  const open = new Set([...panel.querySelectorAll("details[open][data-box]")].map((d) => d.dataset.box));
  panel.replaceChildren(...holder.content.childNodes);
  for (const box of panel.querySelectorAll("details[data-box]")) box.open = open.has(box.dataset.box);
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 80);
}

function gone() {
  document.getElementById("ticket-gone").hidden = false;
  for (const el of composer.elements) el.disabled = true;
}

function markRead() {
  if (document.visibilityState === "visible") postForm(page.dataset.readUrl, {}).catch(() => {});
}

function apply(event) {
  const ticket = event.ticket;
  if (!ticket || ticket.id !== ticketId) return;
  if (event.type === "ticket.removed") { gone(); return; }
  const m = event.message;
  if (m && event.type !== "message.created") toRefresh.add(m.id);
  if (event.type === "message.created" && m && m.direction === "in" && !m.is_private) {
    if (!event.replay) sound.play();
    markRead();
  }
  scheduleRefresh();
}

const live = connectLive({
  company: document.body.dataset.company,
  lastSeq: () => state.lastSeq,
  onState: setupStatus(document.getElementById("live-status")),
  onEvent: (event) => {
    if (event.type === "hello") {
      live.send({ type: "subscribe", ticket: Number(page.dataset.number) });
      // Anything missed while disconnected is fetched by cursor, whatever the replay says.
      scheduleRefresh();
      return;
    }
    if (event.type === "resync") { scheduleRefresh(); return; }
    if (event.type === "error" && event.error === "ticket_not_found") { gone(); return; }
    if (event.seq == null) return;
    if (state.accept(event.seq)) apply(event);
  },
});
window.__atendeLive = live;

composer.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  errorBox.textContent = "";
  const data = new FormData(composer);
  if (!String(data.get("content") || "").trim()) return;
  const button = composer.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const response = await postForm(page.dataset.replyUrl, data);
    const body = await response.json().catch(() => ({}));
    if (!response.ok) { errorBox.textContent = body.error || response.statusText; return; }
    insert(body.key, body.html);
    scrollToEnd();
    textarea.value = "";
    hideQuick();
  } catch {
    errorBox.textContent = composer.dataset.offlineError || "⚠";
  } finally {
    button.disabled = false;
  }
});
textarea.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) composer.requestSubmit();
});

// Quick replies: "/short" at the start of the composer lists matching shortcuts.
const quickList = document.getElementById("quick-replies");
let quickTimer = null;
function hideQuick() { quickList.hidden = true; quickList.replaceChildren(); }
function showQuick(results) {
  quickList.replaceChildren();
  for (const r of results) {
    const li = document.createElement("li");
    li.setAttribute("role", "option");
    li.tabIndex = 0;
    const code = document.createElement("code");
    code.textContent = `/${r.shortcut}`;
    const text = document.createElement("span");
    text.textContent = ` ${r.content.slice(0, 80)}`;
    li.append(code, text);
    const choose = () => { textarea.value = r.content; hideQuick(); textarea.focus(); };
    li.addEventListener("click", choose);
    li.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); choose(); } });
    quickList.appendChild(li);
  }
  quickList.hidden = results.length === 0;
}
textarea.addEventListener("input", () => {
  const url = textarea.dataset.quickUrl;
  const value = textarea.value;
  if (!url || !/^\/\S*$/.test(value)) { hideQuick(); return; }
  clearTimeout(quickTimer);
  quickTimer = setTimeout(async () => {
    const response = await fetch(`${url}?q=${encodeURIComponent(value.slice(1))}`, {
      credentials: "same-origin", headers: { Accept: "application/json" },
    });
    if (response.ok) showQuick((await response.json()).results);
  }, 120);
});
textarea.addEventListener("keydown", (ev) => {
  if (ev.key === "ArrowDown" && !quickList.hidden) { ev.preventDefault(); quickList.firstElementChild?.focus(); }
  if (ev.key === "Escape") hideQuick();
});

formatTimes(document);
scrollToEnd();
markRead();
