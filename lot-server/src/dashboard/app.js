// The operator's dashboard, core: words, helpers, the API, signing in and
// out, and the views. Each view lives in its own file (board, alarms,
// reports, stays, registry, people) and registers itself in VIEWS. Plain
// JavaScript, no build step: every value from the server goes into the
// page as text (textContent), never as HTML, and every code the server
// sends is translated (`tr`), never shown raw.
"use strict";

const params = new URLSearchParams(location.search);
let lang = params.get("lang") || localStorage.getItem("lang") || "vi";
if (!T[lang]) lang = "vi";
const t = (k) => (T[lang] && T[lang][k]) || T.vi[k] || k;
/// A code the server sent, in words: `tr("class", "car")`. A code this
/// page does not know (a class the lot configured) shows as its name.
const tr = (group, code) => {
  if (code === null || code === undefined || code === "") return "—";
  const k = `${group}.${code}`;
  return (T[lang] && T[lang][k]) || T.vi[k] || String(code).replace(/_/g, " ");
};
/// An exception's kind: `alarm:tailgating` is an alarm's.
const trKind = (kind) => (String(kind).startsWith("alarm:") ? `${t("alarms")}: ${tr("alarm", kind.slice(6))}` : tr("exception", kind));
const $ = (id) => document.getElementById(id);
let me = null;
let currentView = "gates";
// A server of many lots serves each one's page at /lots/{lot}/: its API
// calls go under the same prefix (none for the page at /).
const BASE = (location.pathname.match(/^\/lots\/[a-z0-9][a-z0-9_-]*/) || [""])[0];
/// Each view's loader, by name: filled in by the view files.
const VIEWS = {};

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

const vnd = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString(lang === "vi" ? "vi-VN" : "en-US") + " ₫");
const when = (s) => {
  if (!s) return "—";
  const d = new Date(s);
  return isNaN(d) ? "—" : d.toLocaleString(lang === "vi" ? "vi-VN" : "en-GB", { timeZone: "Asia/Ho_Chi_Minh" });
};
/// A plate as Vietnamese plates are written: 30A12345 → 30A-123.45,
/// 29B123456 (a motorbike's, with its series digit) → 29B1-234.56.
const plateText = (p) => {
  const m = /^(\d{2}[A-Z]{1,2})(\d{4,6})$/.exec(p || "");
  if (!m) return p || "—";
  const [series, rest] = m[2].length === 6 ? [m[1] + m[2][0], m[2].slice(1)] : [m[1], m[2]];
  return rest.length === 5 ? `${series}-${rest.slice(0, 3)}.${rest.slice(3)}` : `${series}-${rest}`;
};
const today = () => new Date().toLocaleDateString("en-CA", { timeZone: "Asia/Ho_Chi_Minh" });
/// Midnight of a local day (YYYY-MM-DD) in Hanoi, as Unix milliseconds.
const dayStart = (d) => Date.parse(`${d}T00:00:00+07:00`);

/// Calls the API. A refusal throws an Error whose `code` is the server's
/// stable code, for `errText` to put in words.
async function api(method, path, body) {
  const opts = { method, headers: { "x-parking-csrf": "1" }, credentials: "same-origin" };
  if (body !== undefined) {
    opts.headers["content-type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  let r;
  try { r = await fetch(BASE + path, opts); } catch (_) { throw Object.assign(new Error("network"), { code: "network", status: 0 }); }
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = text; }
  if (r.status === 401 && path !== "/api/v1/login") showLogin();
  if (!r.ok) {
    const code = (data && data.error) || "internal";
    throw Object.assign(new Error(code), { code, status: r.status, retryAfter: Number(r.headers.get("retry-after")) || 0 });
  }
  return data;
}

/// A refusal in the page's language; never the server's raw message.
function errText(e) {
  const code = (e && e.code) || "internal";
  let text = (T[lang] && T[lang]["err." + code]) || T.vi["err." + code] || t("err.internal");
  if (e && e.retryAfter) {
    const mins = Math.ceil(e.retryAfter / 60);
    text += ` ${t("retry_in")} ${e.retryAfter >= 120 ? mins + " " + t("minutes") : e.retryAfter + " " + t("seconds")}.`;
  }
  return text;
}

function applyLang() {
  document.documentElement.lang = lang;
  for (const n of document.querySelectorAll("[data-t]")) n.textContent = t(n.dataset.t);
  $("lang").textContent = lang === "vi" ? "EN" : "VI";
  $("lang").setAttribute("lang", lang === "vi" ? "en" : "vi");
  showWho();
  if (me && VIEWS[currentView]) VIEWS[currentView]();
  if (typeof renderLanes === "function") renderLanes();
  if (typeof showAlarmCount === "function") showAlarmCount();
}

function showWho() { $("who").textContent = me ? `${me.name} (${tr("role", me.role)})` : ""; }

// ---- signing in and out ----------------------------------------------------
function showLogin() {
  me = null;
  if (typeof stopLive === "function") stopLive();
  $("app-view").hidden = true;
  $("login-view").hidden = false;
  $("logout").hidden = true;
  showWho();
  document.title = t("title");
}

async function start() {
  try { me = await api("GET", "/api/v1/me"); } catch (_) { showLogin(); return; }
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  $("logout").hidden = false;
  showWho();
  document.body.dataset.role = me.role;
  for (const n of document.querySelectorAll("[data-ops]")) n.hidden = me.role === "tax_officer";
  for (const n of document.querySelectorAll("[data-admin]")) n.hidden = me.role !== "admin";
  if (typeof startLive === "function") startLive();
  showView("gates");
}

$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("login-error").textContent = "";
  const token = $("token").value.trim();
  const body = token ? { token } : { username: $("username").value.trim(), password: $("password").value };
  if (!token && (!body.username || !body.password)) { $("login-error").textContent = t("err.login_failed"); return; }
  try {
    await api("POST", "/api/v1/login", body);
    $("password").value = "";
    $("token").value = "";
    await start();
  } catch (e) {
    $("login-error").textContent = errText(e);
  }
});
$("logout").addEventListener("click", async () => { await api("POST", "/api/v1/logout").catch(() => {}); showLogin(); });
$("lang").addEventListener("click", () => { lang = lang === "vi" ? "en" : "vi"; localStorage.setItem("lang", lang); applyLang(); });

// ---- views -------------------------------------------------------------------
for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => showView(b.dataset.view));
function showView(name) {
  currentView = name;
  for (const b of document.querySelectorAll("nav button")) {
    b.classList.toggle("active", b.dataset.view === name);
    if (b.dataset.view === name) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
  }
  for (const v of document.querySelectorAll(".view")) v.hidden = v.id !== "view-" + name;
  if (VIEWS[name]) VIEWS[name]();
}

/// A row saying there is nothing, or what went wrong, across `cols` columns.
const emptyRow = (cols, text, cls) => el("tr", {}, el("td", { colspan: cols, class: cls || "muted" }, text || t("no_rows")));

/// A table: headings (word keys, with a class), then the rows.
const table = (head, rows) => el("div", { class: "scroll" }, el("table", {},
  el("thead", {}, el("tr", {}, head.map(([k, cls]) => el("th", { class: cls || "" }, t(k))))),
  el("tbody", {}, rows.length ? rows : emptyRow(head.length))));

/// Asks for a note in a dialog; resolves to the note, or null if cancelled.
function askNote(title, minLength) {
  return new Promise((resolve) => {
    const d = $("note-dialog");
    $("note-title").textContent = title;
    $("note-text").value = "";
    $("note-error").textContent = "";
    const done = (v) => { $("note-form").onsubmit = null; $("note-cancel").onclick = null; d.close(); resolve(v); };
    $("note-form").onsubmit = (ev) => {
      ev.preventDefault();
      const note = $("note-text").value.trim();
      if (note.length < (minLength || 1)) { $("note-error").textContent = t("err.note_short"); return; }
      done(note);
    };
    $("note-cancel").onclick = () => done(null);
    d.showModal();
  });
}

// ---- journal -------------------------------------------------------------------
$("verify").addEventListener("click", async () => {
  $("verify-out").textContent = "…";
  try {
    const v = await api("GET", "/api/v1/journal/verify");
    $("verify-out").replaceChildren(
      el("p", { class: v.ok ? "ok" : "error", "data-ok": String(v.ok) }, v.ok ? t("journal_ok") : t("journal_tampered")),
      el("dl", { class: "kv" },
        v.ok ? [el("dt", {}, t("journal_records")), el("dd", {}, v.records), el("dt", {}, t("journal_seals")), el("dd", {}, v.seals)] : null,
        el("dt", {}, t("journal_pending")), el("dd", {}, v.pending),
        el("dt", {}, t("journal_key")), el("dd", { class: "mono" }, v.public_key)));
  } catch (e) { $("verify-out").textContent = errText(e); }
});

document.addEventListener("DOMContentLoaded", () => { applyLang(); start(); });
