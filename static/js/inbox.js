// The live inbox: applies websocket events to the server-rendered list without reload.
// Events carry a per-company seq (duplicates arriving through several groups are applied
// once; their counts are merged) and the counts each group may see (docs/realtime.md).
import { connectLive } from "./live.js";
import { createLiveState, setupSound, setupStatus, formatTimes } from "./live-common.js";

const root = document.getElementById("inbox");
const list = document.getElementById("ticket-list");
const empty = document.getElementById("empty-list");
const template = document.getElementById("row-template");
const me = Number(root.dataset.user);
const view = {
  status: root.dataset.status,
  queue: root.dataset.queue,
  agent: root.dataset.agent,
  tag: root.dataset.tag,
  channel: root.dataset.channel,
  search: root.dataset.search,
};
const limit = Number(root.dataset.limit || 100);

const state = createLiveState(Number(root.dataset.seq));
const sound = setupSound(root.dataset.soundUrl);
const counts = { queues: {}, mine: { open: 0, unread: 0 } };

function mergeCounts(c) {
  if (!c) return;
  if (c.queues) Object.assign(counts.queues, c.queues);
  if (c.mine) counts.mine = c.mine;
  renderCounts();
}

function renderCounts() {
  const total = { pending: 0, open: 0, unread: 0 };
  for (const [qid, slot] of Object.entries(counts.queues)) {
    if (view.queue && view.queue !== qid) continue;
    total.pending += slot.pending; total.open += slot.open; total.unread += slot.unread;
  }
  const values = { pending: total.pending, open: total.open, unread: total.unread, mine: counts.mine.open };
  for (const el of document.querySelectorAll("[data-count]")) {
    const v = values[el.dataset.count] ?? 0;
    el.textContent = v;
    el.dataset.zero = v ? "0" : "1";
  }
  for (const el of document.querySelectorAll("[data-queue-count]")) {
    const slot = counts.queues[el.dataset.queueCount];
    el.textContent = slot ? slot[el.dataset.field] : 0;
  }
}

function matches(t) {
  if (view.queue && String(t.queue ?? "") !== view.queue) return false;
  if (view.agent && String(t.assignee ?? "") !== view.agent) return false;
  if (view.channel && t.channel !== view.channel) return false;
  if (view.tag && !(t.tags || []).includes(view.tag)) return false;
  switch (view.status) {
    case "pending": return t.status === "pending";
    case "open": return t.status === "open";
    case "mine": return (t.status === "pending" || t.status === "open") && t.assignee === me;
    case "resolved": return t.status === "resolved" || t.status === "closed";
    default: return t.status === "pending" || t.status === "open";
  }
}

// Labels in the page's language come from data-label-<value> attributes on the element.
function label(el, value) {
  return el.dataset[`label${String(value).charAt(0).toUpperCase()}${String(value).slice(1)}`] || value;
}

function rowFor(id) { return list.querySelector(`.ticket-row[data-id="${id}"]`); }

function fill(row, t, message) {
  const ds = row.dataset;
  ds.id = t.id; ds.number = t.number; ds.status = t.status; ds.queue = t.queue ?? "";
  ds.assignee = t.assignee ?? ""; ds.channel = t.channel; ds.last = t.last_message_at || "";
  ds.unread = t.unread;
  row.querySelector(".ticket-link").href = root.dataset.ticketUrl.replace(/\/0\/$/, `/${t.number}/`);
  const avatar = row.querySelector(".avatar");
  avatar.classList.toggle("avatar-group", t.is_group);
  avatar.textContent = t.is_group ? "" : (t.contact || "?").charAt(0).toUpperCase();
  row.querySelector(".row-contact").textContent = t.contact;
  row.querySelector(".row-group").hidden = !t.is_group;
  row.querySelector(".row-number").textContent = `#${t.number}`;
  const queue = row.querySelector(".row-queue");
  queue.textContent = t.queue_name; queue.style.setProperty("--queue", t.queue_color || "#98a2b3");
  row.querySelector(".row-assignee").textContent = t.assignee_name;
  const channel = row.querySelector(".row-channel");
  channel.textContent = label(channel, t.channel);
  const prio = row.querySelector(".row-priority");
  prio.textContent = label(prio, t.priority); prio.hidden = !(t.priority === "high" || t.priority === "urgent");
  const dot = row.querySelector(".state-dot");
  dot.dataset.status = t.status; dot.title = label(dot, t.status);
  const unread = row.querySelector(".row-unread");
  unread.textContent = t.unread; unread.hidden = !t.unread;
  row.querySelector(".row-time").setAttribute("datetime", t.last_message_at || "");
  if (message && !message.is_private) {
    const prefix = message.direction === "out" ? "↩ " : "";
    const preview = row.querySelector(".row-preview");
    preview.textContent = prefix + (message.preview || `[${preview.dataset.labelMedia}]`);
  }
}

function place(row) {
  // Newest activity first, like the server's ordering.
  const last = row.dataset.last;
  for (const other of list.children) {
    if (other !== row && (other.dataset.last || "") < last) { list.insertBefore(row, other); return; }
  }
  list.appendChild(row);
}

function upsert(t, message) {
  let row = rowFor(t.id);
  if (!matches(t)) { if (row) row.remove(); return; }
  if (!row) {
    // A search narrows by text we can't check here: only rows already shown are updated.
    if (view.search) return;
    row = template.content.firstElementChild.cloneNode(true);
    row.classList.add("row-new");
  }
  const moved = row.dataset.last !== (t.last_message_at || "");
  fill(row, t, message);
  if (moved || !row.isConnected) place(row);
  while (list.children.length > limit) list.lastElementChild.remove();
  formatTimes(row);
}

function apply(event) {
  if (event.type === "ticket.removed") {
    rowFor(event.ticket.id)?.remove();
  } else if (event.ticket) {
    upsert(event.ticket, event.message);
    const m = event.message;
    if (event.type === "message.created" && m && m.direction === "in" && !m.is_private && !event.replay) {
      sound.play();
    }
  }
  empty.hidden = list.children.length > 0;
}

const live = connectLive({
  company: document.body.dataset.company,
  lastSeq: () => state.lastSeq,
  onState: setupStatus(document.getElementById("live-status")),
  onEvent: (event) => {
    if (event.type === "hello") { counts.queues = {}; mergeCounts(event.counts); return; }
    if (event.type === "resync") { location.reload(); return; }
    if (event.seq == null) return;
    const fresh = state.accept(event.seq);
    mergeCounts(event.counts);
    if (fresh) apply(event);
  },
});
window.__atendeLive = live;

try { mergeCounts(JSON.parse(document.getElementById("inbox-counts").textContent)); } catch { /* keep zeros */ }
formatTimes(document);
setInterval(() => formatTimes(document), 60000);
