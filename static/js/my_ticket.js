// The requester's "My tickets" page: follows its request on the requester socket
// (/ws/companies/<slug>/requester/) and fetches the server-rendered thread when an event
// arrives and after every (re)connection; the chat form posts without reload (the plain
// form POST still works without JavaScript). Labels come from the template (data-*), so
// they are translated by Django.
import { connectRequester, postForm } from "./live-common.js";

const page = document.getElementById("my-ticket");
const thread = page.querySelector("[data-thread]");
const form = document.getElementById("chat-form");
const errorBox = document.getElementById("chat-error");
const textarea = form.querySelector("textarea");
const statusBadge = page.querySelector("[data-status]");
const facts = page.querySelector("[data-facts]");
const number = Number(page.dataset.number);
const followed = new Set();
let lastMessage = Number(page.dataset.lastMessage || 0);
const toRefresh = new Set();
let timer = null;
let fetching = false;
let failures = 0;

function scrollToEnd() { thread.lastElementChild?.scrollIntoView({ block: "end" }); }

// Messages are kept in id order: the answer to our own POST may arrive before an earlier
// reply that the next fetch brings.
function insert(id, html) {
  if (thread.querySelector(`[data-message="${id}"]`)) return false;
  const holder = document.createElement("template");
  holder.innerHTML = html.trim();
  const node = holder.content.firstElementChild;
  if (!node) return false;
  thread.querySelector("[data-empty]")?.remove();
  const later = [...thread.querySelectorAll("[data-message]")].find((el) => Number(el.dataset.message) > id);
  thread.insertBefore(node, later || null);
  return true;
}

async function refresh() {
  if (fetching) { schedule(); return; }
  fetching = true;
  const ids = [...toRefresh]; toRefresh.clear();
  const url = `${page.dataset.threadUrl}?after=${lastMessage}&refresh=${ids.join(",")}`;
  try {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const data = await response.json();
    let added = false;
    for (const m of data.messages) {
      added = insert(m.id, m.html) || added;
      lastMessage = Math.max(lastMessage, m.id);
    }
    for (const [id, html] of Object.entries(data.refreshed)) {
      const old = thread.querySelector(`[data-message="${id}"]`);
      const holder = document.createElement("template");
      holder.innerHTML = html.trim();
      if (old && holder.content.firstElementChild) old.replaceWith(holder.content.firstElementChild);
    }
    for (const id of data.gone) thread.querySelector(`[data-message="${id}"]`)?.remove();
    showState(data.status, data.status_label);
    if (facts && facts.innerHTML.trim() !== data.facts.trim()) facts.innerHTML = data.facts;
    for (const n of data.follow) follow(n);
    if (added) scrollToEnd();
    failures = 0;
  } catch {
    // A network hiccup: keep what was asked and retry a few times; a reconnection
    // ("following") fetches again anyway.
    for (const id of ids) toRefresh.add(id);
    failures += 1;
    if (failures <= 3) schedule(1000 * 2 ** failures);
  } finally {
    fetching = false;
  }
}

function schedule(delay = 80) {
  clearTimeout(timer);
  timer = setTimeout(refresh, delay);
}

function showState(status, label) {
  if (!statusBadge || !status) return;
  statusBadge.className = `badge wf-status-${status}`;
  statusBadge.dataset.status = status;
  if (label) statusBadge.textContent = label;
}

function follow(n) {
  if (followed.has(n)) return;
  followed.add(n);
  live.send({ type: "follow", ticket: n });
}

const live = connectRequester((event) => {
  if (event.type === "hello") {
    // A new connection follows nothing yet: follow again; each "following" answer
    // fetches what was missed meanwhile (there is no replay on this socket).
    const numbers = new Set([number, ...followed, ...String(page.dataset.follow || "").split(",").filter(Boolean).map(Number)]);
    followed.clear();
    for (const n of numbers) follow(n);
    return;
  }
  if (event.type === "following") { schedule(); return; }
  if (event.type === "requester.message") {
    if (event.event !== "message.created" && event.message) toRefresh.add(event.message.id);
    schedule();
    return;
  }
  if (event.type === "requester.ticket") {
    // The label is the server's (translated); the fetch brings it with the facts.
    schedule();
  }
});
window.__atendeLive = live;

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  errorBox.textContent = "";
  if (!textarea.value.trim()) { textarea.focus(); return; }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const response = await postForm(form.action, new FormData(form));
    const body = await response.json().catch(() => ({}));
    if (!response.ok) { errorBox.textContent = body.error || response.statusText; return; }
    insert(body.id, body.html);
    if (body.ticket && body.ticket !== number) follow(body.ticket);
    scrollToEnd();
    textarea.value = "";
    schedule(); // a reopen or an automatic reply may follow the message
  } catch {
    errorBox.textContent = form.dataset.offlineError || "⚠";
  } finally {
    button.disabled = false;
  }
});
textarea.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) form.requestSubmit();
});

scrollToEnd();
