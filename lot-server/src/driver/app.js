// The drivers' app: the shell (language, views by the address's #hash,
// fetching) and the helpers the views share. No sign-in, no cookies: every
// call is to /api/v1/public/…, and each lot's routes sit under its base.
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
let lang = params.get("lang") || localStorage.getItem("lang") || "vi";
if (!T[lang]) lang = "vi";
const t = (k) => (T[lang] && T[lang][k]) || T.vi[k] || k;
// A code from the server, in words: never the raw code.
const tr = (group, code) => {
  const k = group + "." + code;
  return (T[lang] && T[lang][k]) || T.vi[k] || String(code).replace(/_/g, " ");
};
const locale = () => (lang === "vi" ? "vi-VN" : "en-GB");
const vnd = (n) => Number(n).toLocaleString(locale()) + " ₫";
const when = (iso) => {
  const d = new Date(iso);
  return isNaN(d) ? "—" : d.toLocaleString(locale(), { timeZone: "Asia/Ho_Chi_Minh", dateStyle: "short", timeStyle: "short" });
};
const clock = (iso) => new Date(iso).toLocaleTimeString(locale(), { timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit" });

// Makes an element: el("p", {class: "x"}, "text", child…).
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);
  return e;
}

// A description list from [label, value] pairs.
function facts(list, pairs) {
  list.replaceChildren(...pairs.filter((p) => p[1]).map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", {}, v))));
}

class ApiFailure extends Error {
  constructor(code, retry) { super(code); this.code = code; this.retry = retry; }
}

async function get(path) {
  let r;
  try {
    r = await fetch(path, { headers: { Accept: "application/json" }, credentials: "omit" });
  } catch (_) {
    throw new ApiFailure("network");
  }
  if (r.ok) return r.json();
  let body = {};
  try { body = await r.json(); } catch (_) { /* not JSON: the code below says what */ }
  throw new ApiFailure(body.error || (r.status >= 500 ? "internal" : "unreadable"), r.headers.get("Retry-After"));
}

// A signed-in driver's call: their cookie, and on a write the header no
// other site can send.
async function send(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["x-parking-csrf"] = "1";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let r;
  try {
    r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  } catch (_) {
    throw new ApiFailure("network");
  }
  if (r.status === 204) return null;
  let data = {};
  try { data = await r.json(); } catch (_) { /* not JSON: the code below says what */ }
  if (r.ok) return data;
  throw new ApiFailure(data.error || (r.status >= 500 ? "internal" : "unreadable"), r.headers.get("Retry-After"));
}

function errText(e) {
  const code = e instanceof ApiFailure ? e.code : "internal";
  let text = tr("err", code);
  if ((code === "rate_limited" || code === "locked_out") && e.retry) text += " " + t("retry_in") + " " + e.retry + " " + t("seconds") + ".";
  return text;
}

// Every lot the server serves, with its base path: read once a view needs it.
let lotsCache = null;
async function allLots() {
  lotsCache = (await get("/api/v1/public/availability")).lots;
  return lotsCache;
}

const VIEWS = {};
function route() {
  const [name, arg] = (location.hash.slice(1) || "lots").split("/");
  for (const s of document.querySelectorAll("main > section")) s.hidden = true;
  const view = name === "link" ? "account" : VIEWS[name] ? name : "lots";
  for (const a of document.querySelectorAll("nav a")) {
    const here = a.id === "nav-" + (view === "lot" ? "lots" : view);
    if (here) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  $(view + "-view").hidden = false;
  VIEWS[view](arg ? decodeURIComponent(arg) : undefined, name === "link" ? location.hash.slice(1).split("/").slice(1) : null);
}

function applyLang() {
  document.documentElement.lang = lang;
  document.title = t("title");
  for (const e of document.querySelectorAll("[data-t]")) e.textContent = t(e.dataset.t);
  for (const e of document.querySelectorAll("[data-t-label]")) e.setAttribute("aria-label", t(e.dataset.tLabel));
  $("lang").textContent = lang === "vi" ? "EN" : "VI";
  $("lang").setAttribute("lang", lang === "vi" ? "en" : "vi");
  $("lang").setAttribute("aria-label", lang === "vi" ? "English" : "Tiếng Việt");
}

$("lang").addEventListener("click", () => {
  lang = lang === "vi" ? "en" : "vi";
  localStorage.setItem("lang", lang);
  applyLang();
  route();
});
window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", () => { applyLang(); route(); });
