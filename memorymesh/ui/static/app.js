// MemoryMesh dashboard: live updates. Everything else works without JavaScript.
//
// Pages marked data-live poll /api/changes (the stores' change feed). When another process
// (or this server) writes, the page fetches itself again and swaps in the new <main>, unless
// the person has typed or ticked something on it that is not sent yet.
"use strict";

(function () {
  const POLL_MS = 2000;
  const body = document.body;
  if (!body || !body.dataset.live) return;
  let mark = null;
  let busy = false;

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

  async function poll() {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const response = await fetch("/api/changes", { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const now = (await response.json()).mark;
      if (mark !== null && now !== mark && !typing()) {
        await refresh();
      }
      if (mark === null || !typing()) mark = now;
    } catch (err) {
      // The server stopped or restarted: keep polling; it may come back.
    } finally {
      busy = false;
    }
  }

  poll();
  setInterval(poll, POLL_MS);
})();
