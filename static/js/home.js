import { connectLive } from "./live.js";

const status = document.getElementById("live-status");
const labels = { connecting: status.textContent, connected: "✓", reconnecting: "…", offline: "×" };
connectLive({
  company: document.body.dataset.company,
  onState: (state) => {
    status.dataset.state = state;
    status.title = status.dataset[`label${state.charAt(0).toUpperCase()}${state.slice(1)}`] || state;
  },
  onEvent: (event) => { if (event.type === "hello") status.textContent = `${labels.connected} ${event.company}`; },
});
