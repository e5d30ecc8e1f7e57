// The operator's dashboard. Plain JavaScript, no build step: every value
// from the server goes into the page as text (textContent), never as HTML.
"use strict";

// The words of the page, by language: i18n.js (loaded first) defines `T`.

const params = new URLSearchParams(location.search);
let lang = params.get("lang") || localStorage.getItem("lang") || "vi";
if (!T[lang]) lang = "vi";
const t = (k) => (T[lang] && T[lang][k]) || T.vi[k] || k;
const $ = (id) => document.getElementById(id);
let me = null;
// A server of many lots serves each one's page at /lots/{lot}/: its API
// calls go under the same prefix (none for the page at /).
const BASE = (location.pathname.match(/^\/lots\/[a-z0-9][a-z0-9_-]*/) || [""])[0];
let lanes = {};
let source = null;
let panelsDue = null;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function applyLang() {
  document.documentElement.lang = lang;
  for (const n of document.querySelectorAll("[data-t]")) n.textContent = t(n.dataset.t);
  $("lang").textContent = lang === "vi" ? "EN" : "VI";
  document.title = t("title");
  if (me) $("who").textContent = `${me.label} (${t("role_" + me.role)})`;
  if (source) $("live-state").textContent = t(source.readyState === EventSource.OPEN ? "live_ok" : "live_lost");
  renderLanes();
}

const vnd = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString(lang === "vi" ? "vi-VN" : "en-US") + " ₫");
const when = (s) => {
  if (!s) return "—";
  const d = typeof s === "number" ? new Date(s) : new Date(s);
  return isNaN(d) ? String(s) : d.toLocaleString(lang === "vi" ? "vi-VN" : "en-GB", { timeZone: "Asia/Ho_Chi_Minh" });
};
const today = () => new Date().toLocaleDateString("en-CA", { timeZone: "Asia/Ho_Chi_Minh" });

async function api(method, path, body) {
  const opts = { method, headers: { "x-parking-csrf": "1" }, credentials: "same-origin" };
  if (body !== undefined) {
    opts.headers["content-type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(BASE + path, opts);
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = text; }
  if (r.status === 401 && path !== "/api/v1/login") { showLogin(); }
  if (!r.ok) throw Object.assign(new Error((data && data.message) || r.statusText), { status: r.status });
  return data;
}

// ---- login -------------------------------------------------------------
function showLogin() {
  me = null;
  if (source) { source.close(); source = null; }
  $("app-view").hidden = true;
  $("login-view").hidden = false;
  $("logout").hidden = true;
  $("who").textContent = "";
}

async function start() {
  try { me = await api("GET", "/api/v1/me"); } catch (_) { showLogin(); return; }
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  $("logout").hidden = false;
  $("who").textContent = `${me.label} (${t("role_" + me.role)})`;
  document.body.dataset.role = me.role;
  const ops = me.role !== "tax_officer";
  for (const n of document.querySelectorAll("[data-ops]")) n.hidden = !ops;
  connectLive();
  refreshPanels();
}

$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("login-error").textContent = "";
  try {
    await api("POST", "/api/v1/login", { token: $("token").value.trim() });
    $("token").value = "";
    await start();
  } catch (e) {
    $("login-error").textContent = e.status === 401 ? t("bad_login") : e.message;
  }
});
$("logout").addEventListener("click", async () => { await api("POST", "/api/v1/logout").catch(() => {}); showLogin(); });
$("lang").addEventListener("click", () => { lang = lang === "vi" ? "en" : "vi"; localStorage.setItem("lang", lang); applyLang(); });

// ---- views ---------------------------------------------------------------
for (const b of document.querySelectorAll("nav button")) {
  b.addEventListener("click", () => showView(b.dataset.view));
}
function showView(name) {
  for (const b of document.querySelectorAll("nav button")) b.classList.toggle("active", b.dataset.view === name);
  for (const v of document.querySelectorAll(".view")) v.hidden = v.id !== "view-" + name;
  if (name === "alarms") loadAlarms();
  if (name === "revenue") loadReport();
  if (name === "registry") loadRegistry("vehicles");
  if (name === "gates") refreshPanels();
}

// ---- live gate board -----------------------------------------------------
function connectLive() {
  if (source) source.close();
  source = new EventSource(BASE + "/api/v1/live");
  source.onopen = () => { $("live-state").textContent = t("live_ok"); };
  source.onerror = () => { $("live-state").textContent = t("live_lost"); };
  source.onmessage = (m) => {
    let u;
    try { u = JSON.parse(m.data); } catch (_) { return; }
    if (u.type === "snapshot") { lanes = {}; for (const l of u.lanes) lanes[l.gate] = l; renderLanes(); }
    else if (u.type === "lane") {
      lanes[u.lane.gate] = u.lane;
      renderLane(u.lane);
      // A car came or went: occupancy and revenue, at most once a second.
      if (u.lane.last_decision && !panelsDue) { panelsDue = setTimeout(() => { panelsDue = null; refreshPanels(); }, 1000); }
    }
    else if (u.type === "alarm") { if (!$("view-alarms").hidden) loadAlarms(); }
  };
}

function renderLanes() {
  const box = $("lanes");
  box.replaceChildren(...Object.values(lanes).sort((a, b) => a.gate.localeCompare(b.gate)).map(laneCard));
}
function renderLane(l) {
  const old = document.querySelector(`.lane[data-gate="${CSS.escape(l.gate)}"]`);
  if (old) old.replaceWith(laneCard(l)); else renderLanes();
}

function laneCard(l) {
  const read = l.last_read;
  const d = l.last_decision;
  const readText = read ? [read.credential && `${read.credential.kind} ${read.credential.id || ""}`, read.plate, read.class].filter(Boolean).join(" · ") : "—";
  let decision = "—";
  if (d) {
    const why = d.kind === "manual_open" ? `${t("r_" + d.reason)} — ${d.operator}: ${d.note}` : (d.reason || "");
    const owed = d.owed_vnd ? ` · ${t("owed")} ${vnd(d.owed_vnd)}` : "";
    decision = `${d.kind}${why ? " (" + why + ")" : ""}${d.fee_vnd ? " " + vnd(d.fee_vnd) : ""}${owed} · ${when(d.at)}`;
  }
  const card = el("article", { class: "lane", "data-gate": l.gate },
    el("h3", {}, `${l.gate}${l.direction ? " · " + t(l.direction) : ""}`,
      el("span", { class: "badge " + (l.online ? "online" : "offline") }, t(l.online ? "online" : "offline"))),
    el("dl", { class: "kv" },
      el("dt", {}, t("barrier")), el("dd", { class: "barrier" }, l.barrier || "—"),
      el("dt", {}, t("last_read")), el("dd", { class: "last-read" }, readText),
      el("dt", {}, t("decision")), el("dd", { class: "decision decision-" + (d ? d.kind : "none") }, decision)));
  if (l.waiting) {
    card.append(el("div", { class: "waiting" },
      el("strong", {}, `${t("waiting")}: ${vnd(l.waiting.amount_vnd)}`),
      el("div", {}, (l.waiting.lines || []).join(" / ")),
      el("img", { alt: "VietQR", src: BASE + "/api/v1/qr.svg?text=" + encodeURIComponent(l.waiting.vietqr) })));
  }
  if (me && me.role !== "tax_officer") {
    card.append(el("button", { class: "open-button", type: "button", onclick: () => askOpen(l.gate) }, t("manual_open")));
  }
  return card;
}

// ---- manual open -----------------------------------------------------------
let openGate = null;
function askOpen(gate) {
  openGate = gate;
  $("open-gate").textContent = gate;
  $("open-reason").value = "";
  $("open-note").value = "";
  $("open-error").textContent = "";
  $("open-dialog").showModal();
}
$("open-cancel").addEventListener("click", () => $("open-dialog").close());
$("open-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const reason = $("open-reason").value;
  const note = $("open-note").value.trim();
  if (!reason || note.length < 3) { $("open-error").textContent = `${t("reason")}, ${t("note")}`; return; }
  try {
    await api("POST", `/api/v1/gates/${encodeURIComponent(openGate)}/open`, { reason, note });
    $("open-dialog").close();
    $("live-state").textContent = `${t("sent")}: ${openGate}`;
  } catch (e) { $("open-error").textContent = e.message; }
});

// ---- occupancy and revenue panels ---------------------------------------
function bars(values, labels, fmt) {
  const w = 480, h = 160, max = Math.max(1, ...values), bw = w / Math.max(1, values.length);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h + 30}`);
  values.forEach((v, i) => {
    const bh = (v / max) * h;
    const r = document.createElementNS(ns, "rect");
    r.setAttribute("x", i * bw + 2); r.setAttribute("y", h - bh); r.setAttribute("width", Math.max(1, bw - 4)); r.setAttribute("height", bh);
    r.setAttribute("fill", "#12355b");
    const title = document.createElementNS(ns, "title"); title.textContent = `${labels[i]}: ${fmt(v)}`; r.append(title);
    svg.append(r);
    if (values.length <= 8 || i % 3 === 0) {
      const tx = document.createElementNS(ns, "text");
      tx.setAttribute("x", i * bw + bw / 2); tx.setAttribute("y", h + 14); tx.setAttribute("font-size", "11"); tx.setAttribute("text-anchor", "middle");
      tx.textContent = labels[i]; svg.append(tx);
      if (values.length <= 8) {
        const vx = document.createElementNS(ns, "text");
        vx.setAttribute("x", i * bw + bw / 2); vx.setAttribute("y", h + 27); vx.setAttribute("font-size", "10"); vx.setAttribute("text-anchor", "middle");
        vx.textContent = fmt(v); svg.append(vx);
      }
    }
  });
  return svg;
}

const COLOURS = ["#12355b", "#2e7d32", "#c77700", "#8e24aa", "#00838f", "#6d4c41"];

/// Vehicles inside at the end of each hour, stacked by class, with a legend.
function stacked(byHour) {
  const classes = [...new Set(byHour.flatMap((h) => Object.keys(h.by_class)))].sort();
  const w = 480, h = 160, bw = w / 24;
  const max = Math.max(1, ...byHour.map((x) => Object.values(x.by_class).reduce((a, b) => a + b, 0)));
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h + 16}`);
  byHour.forEach((x, i) => {
    let y = h;
    classes.forEach((c, k) => {
      const n = x.by_class[c] || 0;
      if (!n) return;
      const bh = (n / max) * h;
      y -= bh;
      const r = document.createElementNS(ns, "rect");
      r.setAttribute("x", i * bw + 1); r.setAttribute("y", y); r.setAttribute("width", bw - 2); r.setAttribute("height", bh);
      r.setAttribute("fill", COLOURS[k % COLOURS.length]);
      const title = document.createElementNS(ns, "title"); title.textContent = `${x.hour + 1}:00 ${c}: ${n}`; r.append(title);
      svg.append(r);
    });
    if (i % 3 === 2) {
      const tx = document.createElementNS(ns, "text");
      tx.setAttribute("x", i * bw + bw / 2); tx.setAttribute("y", h + 13); tx.setAttribute("font-size", "11"); tx.setAttribute("text-anchor", "middle");
      tx.textContent = `${x.hour + 1}h`; svg.append(tx);
    }
  });
  // Colours through the CSSOM: the page's CSP forbids inline style attributes.
  const swatch = (k) => { const i = el("i", {}); i.style.background = COLOURS[k % COLOURS.length]; return i; };
  const legend = el("div", { class: "legend" }, classes.map((c, k) => el("span", {}, swatch(k), c)));
  return [svg, legend];
}

async function refreshPanels() {
  try {
    const occ = await api("GET", "/api/v1/occupancy");
    const now = Object.entries(occ.now);
    $("occ-now").replaceChildren(now.length ? el("dl", { class: "kv" }, now.map(([c, n]) => [el("dt", {}, c), el("dd", {}, n)])) : el("p", { class: "muted" }, "0"));
    $("occ-day").replaceChildren(...stacked(occ.by_hour));
  } catch (e) { $("occ-now").textContent = e.message; }
  try {
    const d = today();
    const rep = await api("GET", `/api/v1/reports/revenue?from=${d}&to=${d}`);
    const by = {};
    for (const r of rep.by_day) by[r.channel] = (by[r.channel] || 0) + r.total_vnd;
    const ch = Object.keys(by).sort();
    $("rev-today").replaceChildren(ch.length ? bars(ch.map((c) => by[c]), ch, vnd) : el("p", { class: "muted" }, t("no_rows")));
  } catch (e) { $("rev-today").textContent = e.message; }
}
setInterval(() => { if (me && !$("view-gates").hidden) refreshPanels(); }, 15000);

// ---- alarms and exceptions -------------------------------------------------
$("show-resolved").addEventListener("change", () => loadAlarms());
async function loadAlarms() {
  const state = $("show-resolved").checked ? "all" : "unresolved";
  const rows = await api("GET", `/api/v1/exceptions?state=${state}&limit=200`).catch((e) => { $("alarm-rows").replaceChildren(el("tr", {}, el("td", { colspan: 6 }, e.message))); return null; });
  if (!rows) return;
  $("alarm-rows").replaceChildren(...(rows.length ? rows.map((x) => el("tr", { class: "alarm-row" },
    el("td", {}, when(x.at_ms)), el("td", {}, x.gate), el("td", {}, x.kind), el("td", {}, x.detail),
    el("td", { class: "state" }, x.state === "open" ? t("open")
      : x.state === "acknowledged" ? `${t("acknowledged")}: ${x.acknowledged_by || ""}`
      : `${t("resolved")}: ${x.resolved_by || ""} — ${x.resolution || ""}`),
    el("td", {}, me.role === "tax_officer" || x.state === "resolved" ? "" : [
      x.state === "open" ? el("button", { type: "button", class: "ack", onclick: async () => {
        await api("POST", `/api/v1/exceptions/${encodeURIComponent(x.exception_id)}/acknowledge`).catch((e) => alert(e.message));
        loadAlarms();
      } }, t("acknowledge")) : null,
      el("button", { type: "button", class: "resolve", onclick: async () => {
        const note = prompt(t("resolve_note"));
        if (!note) return;
        await api("POST", `/api/v1/exceptions/${encodeURIComponent(x.exception_id)}/resolve`, { note }).catch((e) => alert(e.message));
        loadAlarms();
      } }, t("resolve"))]))) : [el("tr", {}, el("td", { colspan: 6, class: "muted" }, t("no_rows")))]));
  // Transfers no stay or account matched wait for an operator too.
  const suspense = await api("GET", "/api/v1/transfers?state=suspense&limit=200").catch(() => []);
  $("suspense-rows").replaceChildren(...(suspense.length ? suspense.map((x) => el("tr", {},
    el("td", {}, when(x.received_ms || x.booked_ms)), el("td", { class: "num" }, vnd(x.amount_vnd)), el("td", {}, x.memo || x.description || ""), el("td", {}, x.transfer_id || x.id))) :
    [el("tr", {}, el("td", { colspan: 4, class: "muted" }, t("no_rows")))]));
}

// ---- revenue report ----------------------------------------------------------
$("rep-from").value = today();
$("rep-to").value = today();
$("report-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadReport(); });
async function loadReport() {
  const q = `from=${$("rep-from").value}&to=${$("rep-to").value}`;
  $("rep-csv").href = BASE + `/api/v1/reports/revenue?${q}&format=csv`;
  $("rep-xlsx").href = BASE + `/api/v1/reports/revenue?${q}&format=xlsx`;
  let rep;
  try { rep = await api("GET", `/api/v1/reports/revenue?${q}`); } catch (e) { $("report").textContent = e.message; return; }
  const rows = rep.by_day.map((r) => el("tr", {}, el("td", {}, r.period), el("td", {}, r.class), el("td", {}, r.channel),
    el("td", { class: "num" }, r.count), el("td", { class: "num" }, vnd(r.net_vnd)), el("td", { class: "num" }, vnd(r.vat_vnd)), el("td", { class: "num" }, vnd(r.total_vnd))));
  const tot = rep.totals;
  const mism = rep.reconciliation.mismatches.map((m) => el("li", { class: "mismatch mismatch-" + m.kind },
    el("strong", {}, m.kind), ` · ${when(m.at)}${m.amount_vnd ? " · " + vnd(m.amount_vnd) : ""} · ${m.detail || ""}`));
  const ex = rep.reconciliation.exits;
  $("report").replaceChildren(
    el("table", {}, el("thead", {}, el("tr", {}, ["day", "class", "channel", "count", "net", "vat", "total"].map((k) => el("th", { class: ["count", "net", "vat", "total"].includes(k) ? "num" : "" }, t(k))))),
      el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: 7, class: "muted" }, t("no_rows")))),
      el("tfoot", {}, el("tr", {}, el("th", { colspan: 3 }, t("total")), el("th", { class: "num" }, tot.count), el("th", { class: "num" }, vnd(tot.net_vnd)), el("th", { class: "num" }, vnd(tot.vat_vnd)), el("th", { class: "num" }, vnd(tot.total_vnd))))),
    el("p", {}, `${t("exit")}: ${ex.total} (account ${ex.account}, transfer ${ex.transfer}, pass ${ex.pass}, free ${ex.free}, unpaid ${ex.unpaid}) · ${t("topups")}: ${vnd(rep.topups.total_vnd)}`),
    el("h3", {}, `${t("mismatches")} (${mism.length})`),
    el("ul", { id: "mismatches" }, mism));
}

// ---- sessions --------------------------------------------------------------
$("session-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const q = $("session-q").value.trim();
  const byTag = /^[0-9a-fA-F]{8,}$/.test(q) && !/^\d{2}[A-Za-z]/.test(q);
  const path = byTag ? `/api/v1/sessions?credential_key=${encodeURIComponent("tag:" + q.toUpperCase())}` : `/api/v1/sessions?plate=${encodeURIComponent(q)}`;
  try {
    const rows = await api("GET", path);
    $("session-rows").replaceChildren(...(rows.length ? rows.map((s) => el("tr", {}, el("td", {}, s.credential_key), el("td", {}, s.plate || "—"), el("td", {}, s.class),
      el("td", {}, when(s.entered_ms)), el("td", {}, when(s.exited_ms)), el("td", { class: "num" }, vnd(s.fee_vnd)), el("td", {}, s.settlement || s.state))) : [el("tr", {}, el("td", { colspan: 7, class: "muted" }, t("no_rows")))]));
  } catch (e) { $("session-rows").replaceChildren(el("tr", {}, el("td", { colspan: 7 }, e.message))); }
});

// ---- registry ------------------------------------------------------------------
for (const b of document.querySelectorAll("[data-reg]")) b.addEventListener("click", () => loadRegistry(b.dataset.reg));
const REG = {
  vehicles: [["plate", (r) => r.plate], ["class", (r) => r.class], ["owner", (r) => r.owner_id || "—"], ["accounts", (r) => r.account_id || "—"], ["state_word", (r) => r.state]],
  tags: [["credential", (r) => r.epc], ["vehicle", (r) => r.vehicle_id], ["state_word", (r) => r.state]],
  passes: [["vehicle", (r) => r.vehicle_id], ["valid", (r) => `${r.valid_from} → ${r.valid_until}`], ["fee", (r) => vnd(r.price_vnd)], ["state_word", (r) => r.state]],
  accounts: [["accounts", (r) => r.account_id], ["owner", (r) => r.owner_id], ["balance", (r) => vnd(r.balance_vnd)], ["topups", (r) => r.topup_code || "—"], ["state_word", (r) => r.state]],
};
async function loadRegistry(kind) {
  const cols = REG[kind];
  $("reg-head").replaceChildren(el("tr", {}, cols.map(([k]) => el("th", {}, t(k))), kind === "accounts" ? el("th", {}) : null));
  try {
    const rows = await api("GET", `/api/v1/${kind}?limit=200`);
    $("reg-rows").replaceChildren(...(rows.length ? rows.map((r) => el("tr", {}, cols.map(([, f]) => el("td", {}, f(r))),
      kind === "accounts" ? el("td", {}, el("button", { type: "button", onclick: async () => {
        const amount = Number(prompt(`${t("top_up")} ${r.account_id} (VND)`));
        if (!amount) return;
        await api("POST", `/api/v1/accounts/${encodeURIComponent(r.account_id)}/top-ups`, { amount_vnd: amount, reference: `dashboard ${new Date().toISOString()}` }).catch((e) => alert(e.message));
        loadRegistry("accounts");
      } }, t("top_up"))) : null)) : [el("tr", {}, el("td", { colspan: cols.length + 1, class: "muted" }, t("no_rows")))]));
  } catch (e) { $("reg-rows").replaceChildren(el("tr", {}, el("td", { colspan: cols.length }, e.message))); }
}

// ---- journal -------------------------------------------------------------------
$("verify").addEventListener("click", async () => {
  $("verify-out").textContent = "…";
  try { $("verify-out").textContent = JSON.stringify(await api("GET", "/api/v1/journal/verify"), null, 2); }
  catch (e) { $("verify-out").textContent = e.message; }
});

applyLang();
start();
