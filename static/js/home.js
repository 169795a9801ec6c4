import { connectLive } from "./live.js";

const status = document.getElementById("live-status");
const labels = { connecting: status.textContent, connected: "✓", reconnecting: "…", offline: "×" };
connectLive({
  company: document.body.dataset.company,
  onState: (state) => { status.dataset.state = state; status.title = state; },
  onEvent: (event) => { if (event.type === "hello") status.textContent = `${labels.connected} ${event.company}`; },
});
