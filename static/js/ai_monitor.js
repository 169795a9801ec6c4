// The AI buffer monitor: refetches its small JSON when the server says a buffer changed
// ("ai.buffer" events on the company websocket) or the socket (re)connects; between
// events it only counts the seconds down locally. A slow 30 s refresh covers a socket
// that is down. No faster polling.
import { connectLive } from "./live.js";
import { setupStatus } from "./live-common.js";

const table = document.querySelector("[data-ai-buffers]");
const repliesTable = document.querySelector("[data-ai-replies]");
const liveLabel = document.querySelector("[data-ai-live]");
const base = document.querySelector("[data-ai-base]").dataset.aiBase;
const company = document.body.dataset.company;
const actionsTemplate = document.getElementById("ai-row-actions");
let pending = null;

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  return td;
}

function renderBuffers(rows) {
  const body = table.tBodies[0];
  body.replaceChildren();
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = cell(table.dataset.emptyText || "—");
    td.colSpan = 6;
    td.className = "muted";
    tr.append(td);
    body.append(tr);
    return;
  }
  for (const row of rows) {
    const tr = document.createElement("tr");
    tr.dataset.conversation = row.conversation;
    const due = cell(`${row.seconds_left} s`);
    due.dataset.due = row.due_at;
    const state = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = `badge ai-state-${row.state}`;
    badge.textContent = row.state_label || row.state;
    state.append(badge);
    const actions = document.createElement("td");
    actions.className = "ai-actions";
    actions.append(actionsTemplate.content.cloneNode(true));
    for (const form of actions.querySelectorAll("form")) {
      form.action = `${base}conversations/${row.conversation}/${form.dataset.action}/`;
    }
    tr.append(cell(row.contact), cell(row.ticket_number ? `#${row.ticket_number}` : ""),
      cell(row.messages_waiting), due, state, actions);
    body.append(tr);
  }
}

function renderReplies(rows) {
  const body = repliesTable.tBodies[0];
  body.replaceChildren();
  for (const r of rows) {
    const tr = document.createElement("tr");
    const when = new Date(r.started_at).toLocaleTimeString();
    tr.append(cell(when), cell(r.contact), cell(r.messages), cell(r.status_label),
      cell(r.latency_ms != null ? `${r.latency_ms} ms` : ""), cell(r.tokens), cell(r.tools.join(", ")));
    body.append(tr);
  }
}

async function refresh() {
  pending = null;
  const response = await fetch(table.dataset.url, { headers: { Accept: "application/json" } });
  if (!response.ok) return;
  const data = await response.json();
  renderBuffers(data.buffers);
  renderReplies(data.replies);
}

function soon() {
  // Bursts produce many events: coalesce them into one fetch.
  if (!pending) pending = setTimeout(refresh, 300);
}

function tick() {
  const now = Date.now();
  for (const td of table.querySelectorAll("[data-due]")) {
    const left = Math.max(0, Math.round((Date.parse(td.dataset.due) - now) / 1000));
    td.textContent = `${left} s`;
  }
}

table.dataset.emptyText = table.querySelector(".ai-empty td")?.textContent ?? "—";
setInterval(tick, 1000);
setInterval(refresh, 30000);
connectLive({
  company,
  onEvent: (event) => {
    if (event.type === "hello" || event.type === "ai.buffer") soon();
  },
  onState: setupStatus(liveLabel),
});
