// The requester's "My tickets" list, live: follows the open tickets on the requester
// socket (/ws/companies/<slug>/requester/) and, when one of them changes (status, sector,
// attendant, a message), fetches the rows again, rendered by the server (the same JSON
// after every (re)connection, so what changed meanwhile shows too).
import { connectRequester } from "./live-common.js";

const table = document.getElementById("my-tickets");
const rows = table.querySelector("[data-rows]");
let follow = String(table.dataset.follow || "").split(",").filter(Boolean).map(Number);
let timer = null;

async function refresh() {
  try {
    const response = await fetch(location.pathname, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!response.ok) return;
    const data = await response.json();
    rows.innerHTML = data.rows;
    const before = new Set(follow);
    follow = data.follow;
    for (const n of follow) if (!before.has(n)) live.send({ type: "follow", ticket: n });
  } catch {
    // offline: the next (re)connection fetches again
  }
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(refresh, 150);
}

const live = connectRequester((event) => {
  if (event.type === "hello") {
    for (const n of follow) live.send({ type: "follow", ticket: n });
    schedule();
    return;
  }
  if (event.type === "requester.ticket" || event.type === "requester.message") schedule();
});
window.__atendeLive = live;
