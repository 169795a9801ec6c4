// The company websocket with automatic reconnect and a connection indicator.
// Usage: const live = connectLive({ company, onEvent, onState, lastSeq, path }).
// States: "connecting" | "connected" | "reconnecting" | "offline".
// ``path``: "" for the inbox socket, "requester/" for the requester's "My tickets" socket.
export function connectLive({ company, onEvent = () => {}, onState = () => {}, lastSeq = () => null, path = "" }) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  let socket = null;
  let attempt = 0;
  let closedByUs = false;
  let pingTimer = null;
  let retryTimer = null;

  function open() {
    // One socket at a time: coming back online while a retry is pending must not leave
    // two sockets delivering every event twice.
    clearTimeout(retryTimer);
    if (socket && socket.readyState <= 1) return;
    onState(attempt === 0 ? "connecting" : "reconnecting");
    const seq = lastSeq();
    const query = seq != null ? `?since=${encodeURIComponent(seq)}` : "";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/companies/${company}/${path}${query}`);
    socket = ws;
    ws.addEventListener("open", () => {
      attempt = 0;
      onState("connected");
      clearInterval(pingTimer);
      pingTimer = setInterval(() => socket.readyState === 1 && socket.send('{"type":"ping"}'), 25000);
    });
    ws.addEventListener("message", (msg) => {
      if (ws !== socket) return;
      let data;
      try { data = JSON.parse(msg.data); } catch { return; }
      onEvent(data);
    });
    ws.addEventListener("close", (ev) => {
      // A socket replaced meanwhile (closing when the network came back) says nothing.
      if (ws !== socket) return;
      clearInterval(pingTimer);
      if (closedByUs) return;
      if (ev.code === 4401 || ev.code === 4404) { onState("offline"); return; }
      // 4000: the member's access changed (role, queues, deactivation): connect again
      // at once, to be checked and subscribed anew.
      if (ev.code === 4000) { attempt = 0; onState("reconnecting"); open(); return; }
      attempt += 1;
      onState(navigator.onLine === false ? "offline" : "reconnecting");
      // Exponential backoff with jitter, capped at 15 s.
      const delay = Math.min(15000, 500 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2);
      retryTimer = setTimeout(open, delay);
    });
  }
  window.addEventListener("online", () => { if (socket && socket.readyState > 1 && !closedByUs) { attempt = 0; open(); } });
  open();
  return {
    send: (obj) => socket && socket.readyState === 1 && socket.send(JSON.stringify(obj)),
    close: () => { closedByUs = true; clearTimeout(retryTimer); socket && socket.close(); },
    get socket() { return socket; },
  };
}
