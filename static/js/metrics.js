// Metrics dashboard: charts from the page's JSON (Chart.js, vendored) and live cards.
// Live: any ticket.* / message.* event on the company socket schedules one refresh of the
// cards from a small JSON endpoint, at most once every REFRESH_MS (docs/metrics.md).
import { connectLive } from "./live.js";

const REFRESH_MS = 5000;
const data = JSON.parse(document.getElementById("metrics-data").textContent);
const Chart = window.Chart;
const brand = "#0f766e";
const soft = "#99d5cd";
// Legend labels in the page's language (data-label-* on the charts section).
const labels = document.getElementById("metrics-charts")?.dataset ?? {};

function duration(seconds) {
  if (seconds === null || seconds === undefined || seconds === "") return "—";
  let s = Math.round(Number(seconds));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${String(m).padStart(2, "0")}min`;
  if (m) return `${m}min ${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}
const minutes = (v) => (v === null || v === undefined ? null : Math.round((v / 60) * 10) / 10);

function chart(id, config) {
  const el = document.getElementById(id);
  if (!el || !Chart) return;
  config.options = { responsive: true, maintainAspectRatio: false, animation: false,
    plugins: { legend: { position: "bottom" } }, ...(config.options || {}) };
  el.parentElement.style.height = "260px";
  new Chart(el, config);
}

const days = data.daily.map((d) => d.date.slice(5));
chart("chart-daily", { type: "bar", data: { labels: days, datasets: [
  { label: labels.labelIn || "in", data: data.daily.map((d) => d.in), backgroundColor: brand },
  { label: labels.labelOut || "out", data: data.daily.map((d) => d.out), backgroundColor: soft },
] } });
chart("chart-trend", { type: "line", data: { labels: days, datasets: [
  { label: labels.labelFirstResponse || "first response p50 (min)", data: data.daily.map((d) => minutes(d.first_response_p50)), borderColor: brand, spanGaps: true },
  { label: labels.labelReply || "reply p50 (min)", data: data.daily.map((d) => minutes(d.reply_p50)), borderColor: "#b54708", spanGaps: true },
] } });
chart("chart-hourly", { type: "bar", data: { labels: data.hourly.map((h) => `${h.hour}h`), datasets: [
  { label: labels.labelIn || "in", data: data.hourly.map((h) => h.count), backgroundColor: brand },
] } });
chart("chart-agents", { type: "bar", data: { labels: data.agents.map((a) => a.name), datasets: [
  { label: labels.labelReply || "reply p50 (min)", data: data.agents.map((a) => minutes(a.reply_p50)), backgroundColor: brand },
  { label: labels.labelFirstResponse || "first response p50 (min)", data: data.agents.map((a) => minutes(a.first_response_p50)), backgroundColor: soft },
] }, options: { indexAxis: "y" } });
chart("chart-queues", { type: "bar", data: { labels: data.queues.map((q) => q.name), datasets: [
  { label: labels.labelTickets || "tickets", data: data.queues.map((q) => q.tickets_created), backgroundColor: data.queues.map((q) => q.color) },
] } });

// Heatmap shading.
const cells = [...document.querySelectorAll("#heatmap td[data-n]")];
const max = Math.max(1, ...cells.map((td) => Number(td.dataset.n)));
for (const td of cells) {
  const n = Number(td.dataset.n);
  if (n) td.style.background = `rgba(15, 118, 110, ${0.15 + 0.85 * (n / max)})`;
}

// Custom dates only when the period is custom.
const form = document.getElementById("metrics-filters");
const period = document.getElementById("period");
const toggle = () => form.classList.toggle("is-custom", period.value === "custom");
period.addEventListener("change", toggle);
toggle();

// Live cards.
const cardsBox = document.getElementById("metrics-cards");
const status = document.getElementById("metrics-live");
let timer = null;
let last = 0;
async function refresh() {
  timer = null;
  last = Date.now();
  try {
    const response = await fetch(cardsBox.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) return;
    const cards = await response.json();
    for (const el of cardsBox.querySelectorAll("[data-card]")) {
      const key = el.dataset.card;
      if (!(key in cards)) continue;
      const text = "seconds" in el.dataset ? duration(cards[key]) : String(cards[key]);
      if (el.textContent !== text) {
        el.textContent = text;
        el.classList.remove("flash-update"); void el.offsetWidth; el.classList.add("flash-update");
      }
      if ("seconds" in el.dataset) el.dataset.seconds = cards[key] ?? "";
    }
  } catch { /* offline: the next event retries */ }
}
function schedule() {
  if (timer) return;
  timer = setTimeout(refresh, Math.max(0, last + REFRESH_MS - Date.now()));
}
connectLive({
  company: document.body.dataset.company,
  onState: (state) => { status.dataset.state = state; },
  onEvent: (event) => {
    const type = String(event.type || "");
    if (type.startsWith("ticket.") || type.startsWith("message.")) schedule();
  },
});
