// MemoryMesh dashboard: live updates. Everything else works without JavaScript.
//
// Pages marked data-live follow the stores' change feed: pushed by /api/changes/stream
// (server-sent events) when the browser has EventSource, else polled from /api/changes every
// data-poll-ms. When another process (or this server) writes, the page fetches itself again
// and swaps in the new <main>, unless the person has typed or ticked something on it that is
// not sent yet. If the stream fails or ends (the server stopped), the page polls, and tries
// the stream again now and then. A hidden tab neither polls nor keeps a stream open.
"use strict";

(function () {
  const body = document.body;
  if (!body || !body.dataset.live) return;
  const POLL_MS = Number(body.dataset.pollMs) > 0 ? Number(body.dataset.pollMs) : 2000;
  const STREAM_RETRY_MS = 30000;
  // The marks the page was rendered at (read before its content): a write made before the
  // stream's first event still refreshes it.
  let mark = body.dataset.mark || null;
  let latest = null; // the newest mark heard, by the stream or a poll
  let busy = false;
  let polling = false;
  let source = null;
  let streamFailedAt = null;

  // What the page's fields hold: compared with what they held when it was loaded, it tells
  // whether something typed or ticked is not sent yet (a refresh would throw it away).
  function fields() {
    const main = document.getElementById("main");
    if (!main) return "";
    const values = [];
    for (const el of main.querySelectorAll("input, textarea, select")) {
      values.push(el.type === "checkbox" || el.type === "radio" ? String(el.checked) : el.value);
    }
    return JSON.stringify(values);
  }
  let loaded = fields();

  function typing() {
    return fields() !== loaded;
  }

  async function refresh() {
    const response = await fetch(location.href, { headers: { Accept: "text/html" } });
    if (!response.ok) return;
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = doc.getElementById("main");
    const main = document.getElementById("main");
    if (fresh && main) {
      main.replaceChildren(...fresh.childNodes);
      loaded = fields();
      const badge = document.getElementById("live");
      if (badge) {
        badge.hidden = false;
        badge.dataset.at = String(Date.now());
      }
    }
  }

  // Bring the page up to the newest mark heard (one refresh at a time; a mark heard during
  // a refresh is handled after it). While the person types, the mark is kept, so the page
  // refreshes once they stop.
  async function settle() {
    if (busy) return;
    busy = true;
    try {
      while (latest !== null && latest !== mark) {
        const now = latest;
        if (mark !== null) {
          if (typing()) return;
          await refresh();
        }
        mark = now;
      }
    } catch (err) {
      // The server stopped or restarted: the next mark heard tries again.
    } finally {
      busy = false;
    }
  }

  async function poll() {
    if (polling || busy || document.hidden) return;
    polling = true;
    try {
      const response = await fetch("/api/changes", { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      latest = (await response.json()).mark;
    } catch (err) {
      // The server stopped or restarted: keep polling; it may come back.
      return;
    } finally {
      polling = false;
    }
    await settle();
  }

  function closeStream() {
    if (source) {
      source.close();
      source = null;
    }
  }

  function openStream() {
    if (source || document.hidden || typeof EventSource === "undefined") return source !== null;
    source = new EventSource("/api/changes/stream");
    source.onmessage = function (event) {
      body.dataset.liveVia = "stream";
      latest = JSON.parse(event.data).mark;
      settle();
    };
    source.onerror = function () {
      // Failed, refused or ended (the server stopping): poll instead.
      closeStream();
      streamFailedAt = Date.now();
      body.dataset.liveVia = "poll";
    };
    return true;
  }

  function tick() {
    if (document.hidden) return;
    if (source) {
      settle(); // a refresh put off while the person typed
      return;
    }
    if (streamFailedAt === null || Date.now() - streamFailedAt >= STREAM_RETRY_MS) {
      if (openStream()) return;
    }
    poll();
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      closeStream();
    } else {
      tick();
    }
  });

  if (!openStream()) {
    body.dataset.liveVia = "poll";
    poll();
  }
  setInterval(tick, POLL_MS);
})();
