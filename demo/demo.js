// The demo page: the SDK's browser build, fetch, and the DOM. No framework; no key is ever kept here.
import { createClient } from "/herald-client.browser.js";

const $ = (id) => document.getElementById(id);
const text = (id, value) => ($(id).textContent = value);
let client = null;

// Each tab is its own device (the node keeps one acknowledged position per device).
const deviceId = (sessionStorage.heraldDemoDevice ??= "demo-" + crypto.randomUUID().slice(0, 8));
const looksLikeJwt = (s) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(s);

$("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (client) await client.close();
  $("messages").replaceChildren();
  text("login-error", "");
  const who = $("who").value.trim();
  const body = looksLikeJwt(who) ? { ticket: who } : { userId: who };
  client = createClient({ url: location.origin, deviceId, credentials: () => ({ body }) });
  client.on("login", (l) => text("me", l.userId));
  client.on("connected", (c) => text("node", `${c.node.id} (${c.node.url}${c.node.path})`));
  client.on("state", (s) => text("state", s));
  client.on("error", (err) => text("login-error", `${err.code}: ${err.message}`));
  client.on("gap", (g) => text("login-error", `messages may be missing (${g.reason})`));
  client.on("message", (m) => {
    const li = document.createElement("li");
    li.textContent = `${new Date(m.ts).toLocaleTimeString()} ${m.event}: ${JSON.stringify(m.data)}`;
    $("messages").prepend(li);
  });
  client.start();
});

$("publish").addEventListener("submit", async (e) => {
  e.preventDefault();
  const raw = $("data").value;
  let data;
  try {
    data = JSON.parse(raw);
  } catch {
    data = raw;
  }
  const message = { to: $("to").value.split(",").map((s) => s.trim()).filter(Boolean), data };
  if ($("event").value.trim()) message.event = $("event").value.trim();
  try {
    const r = await fetch("/v1/publish", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${$("key").value}` },
      body: JSON.stringify(message),
    });
    const answer = await r.json();
    text("publish-result", r.ok ? `published ${answer.id}` : `refused (${r.status}) ${answer.error?.code}: ${answer.error?.message}`);
  } catch (err) {
    text("publish-result", `could not reach the node: ${err.message}`);
  }
});

async function refreshCluster() {
  try {
    const s = await (await fetch("/v1/status", { cache: "no-store" })).json();
    const rows = s.nodes.map((n) => {
      const tr = document.createElement("tr");
      tr.dataset.node = n.id;
      for (const [value, cls] of [[n.id], [n.state, `state-${n.state}`], [n.sockets], [n.users], [n.rates.published], [n.rates.delivered]]) {
        const td = document.createElement("td");
        td.textContent = String(value);
        if (cls) td.className = cls;
        tr.append(td);
      }
      return tr;
    });
    $("cluster").tBodies[0].replaceChildren(...rows);
    const t = s.totals;
    text("cluster-summary", `affinity version ${s.affinityVersion ?? "none"} · ${t.alive}/${t.nodes} nodes alive · ${t.sockets} sockets · ${t.users} users`);
  } catch (err) {
    text("cluster-summary", `status unavailable: ${err.message}`);
  }
}
refreshCluster();
setInterval(refreshCluster, 1000);
