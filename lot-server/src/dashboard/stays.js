// The stays view: search by part of a plate, a tag, a ticket or a payment
// code, filtered by dates, lane, state and channel, a page at a time; and
// a stay's detail: its gate events, its fee line by line, its payments
// and its invoices.
"use strict";

const PAGE = 50;
let stayOffset = 0;

function stayQuery() {
  const p = new URLSearchParams();
  const q = $("session-q").value.trim();
  if (q) p.set("q", q);
  if ($("session-from").value) p.set("from_ms", dayStart($("session-from").value));
  if ($("session-to").value) p.set("to_ms", dayStart($("session-to").value) + 86400000);
  for (const [key, id] of [["gate", "session-gate"], ["state", "session-state"], ["settlement", "session-channel"]]) {
    if ($(id).value) p.set(key, $(id).value);
  }
  p.set("limit", PAGE + 1);
  p.set("offset", stayOffset);
  return p;
}

const credentialText = (s) => {
  const c = s.credential || {};
  const id = c.epc || (c.serial !== undefined ? `#${c.serial}` : "") || c.plate || "";
  return `${tr("credential", c.kind || String(s.credential_key).split(":")[0])} ${id}`.trim();
};
const durationText = (secs) => (secs === null || secs === undefined ? "—" : `${Math.floor(secs / 3600)}h${String(Math.floor((secs % 3600) / 60)).padStart(2, "0")}`);

async function loadStays() {
  $("session-error").textContent = "";
  const q = $("session-q").value.trim();
  if (q && q.replace(/[^0-9a-z]/gi, "").length < 2) { $("session-error").textContent = t("err.search_short"); return; }
  let rows;
  try { rows = await api("GET", "/api/v1/sessions?" + stayQuery()); }
  catch (e) {
    $("session-error").textContent = e.code === "bad_request" && q ? t("err.search_short") : errText(e);
    $("session-rows").replaceChildren(emptyRow(7));
    return;
  }
  const more = rows.length > PAGE;
  rows = rows.slice(0, PAGE);
  $("session-rows").replaceChildren(...(rows.length ? rows.map((s) => el("tr", { class: "stay-row", "data-id": s.session_id },
    el("td", {}, el("button", { type: "button", class: "link", onclick: () => showStay(s.session_id) }, credentialText(s))),
    el("td", {}, plateText(s.plate)), el("td", {}, tr("class", s.class)),
    el("td", {}, when(s.entered_ms)), el("td", {}, when(s.exited_ms)), el("td", { class: "num" }, vnd(s.fee_vnd)),
    el("td", { class: "settlement" }, s.state === "open" ? tr("stay", "open") : tr("channel", s.settlement)))) : [emptyRow(7)]));
  $("session-prev").disabled = stayOffset === 0;
  $("session-next").disabled = !more;
  $("session-page").textContent = `${t("page")} ${stayOffset / PAGE + 1}`;
}

$("session-form").addEventListener("submit", (ev) => { ev.preventDefault(); stayOffset = 0; loadStays(); });
$("session-prev").addEventListener("click", () => { stayOffset = Math.max(0, stayOffset - PAGE); loadStays(); });
$("session-next").addEventListener("click", () => { stayOffset += PAGE; loadStays(); });
$("stay-close").addEventListener("click", () => $("stay-dialog").close());

async function showStay(id) {
  let d;
  try { d = await api("GET", `/api/v1/sessions/${encodeURIComponent(id)}/detail`); }
  catch (e) { $("session-error").textContent = errText(e); return; }
  const s = d.session;
  const fee = d.fee;
  $("stay-body").replaceChildren(...[
    el("dl", { class: "kv" },
      el("dt", {}, t("credential")), el("dd", {}, credentialText(s)),
      el("dt", {}, t("plate")), el("dd", {}, plateText(s.plate)),
      el("dt", {}, t("class")), el("dd", {}, tr("class", s.class)),
      el("dt", {}, t("entered")), el("dd", {}, `${when(s.entered_ms)} · ${s.entry_gate || "—"}`),
      el("dt", {}, t("exited")), el("dd", {}, `${when(s.exited_ms)} · ${s.exit_gate || "—"}`),
      el("dt", {}, t("duration")), el("dd", {}, durationText(s.duration_s)),
      el("dt", {}, t("fee")), el("dd", { class: "fee-total" }, vnd(s.fee_vnd)),
      el("dt", {}, t("settlement")), el("dd", {}, s.state === "open" ? tr("stay", "open") : tr("channel", s.settlement))),
    el("h3", {}, t("events_h")),
    table([["time"], ["gate"], ["kind"]], d.events.map((e) => el("tr", {}, el("td", {}, when(e.at_ms)), el("td", {}, e.gate), el("td", {}, tr("event", e.kind))))),
    me && me.role !== "tax_officer" ? [el("h3", {}, t("photos_h")), stayPhotos(d.events)] : null,
    el("h3", {}, t("fee_h")),
    fee ? el("p", { class: "muted" }, `${t("tariff")}: ${fee.tariff_version}`) : null,
    table([["kind"], ["time"], ["quantity", "num"], ["unit_price", "num"], ["amount", "num"]], fee ? fee.items.map((i) => el("tr", { class: "fee-item" },
      el("td", {}, tr("fee", i.kind)), el("td", {}, `${when(i.from)} → ${when(i.to)}`), el("td", { class: "num" }, i.quantity),
      el("td", { class: "num" }, vnd(i.unit_price)), el("td", { class: "num" }, vnd(i.amount)))) : []),
    el("h3", {}, t("payments_h")),
    table([["time"], ["amount", "num"], ["code_word"], ["state"]], d.payments.map((p) => el("tr", {}, el("td", {}, when(p.received_ms)),
      el("td", { class: "num" }, vnd(p.amount_vnd)), el("td", {}, p.payment_code || "—"), el("td", {}, tr("transfer", p.state))))),
    el("h3", {}, t("invoices_h")),
    table([["invoice_no"], ["time"], ["amount", "num"], ["lookup"]], d.invoices.map((i) => el("tr", {}, el("td", {}, `${i.series}-${i.number}`),
      el("td", {}, when(i.issued_ms)), el("td", { class: "num" }, vnd(i.total_vnd)), el("td", {}, i.lookup_code)))),
  ].flat().filter(Boolean));
  $("stay-dialog").showModal();
}

VIEWS.sessions = loadStays;
