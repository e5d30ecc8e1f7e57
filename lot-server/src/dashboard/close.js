// The close view: a shift's or a day's close report, drawn up by the
// server (GET /api/v1/close) and laid out to print and sign.
"use strict";

$("close-day").value = today();
function showCloseFields() {
  const shift = $("close-kind").value === "shift";
  $("close-day-box").hidden = shift;
  $("close-from-box").hidden = !shift;
  $("close-to-box").hidden = !shift;
}
$("close-kind").addEventListener("change", showCloseFields);
$("close-print").addEventListener("click", () => window.print());
$("close-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadClose(); });

/// A local date-time field (Hanoi time) as Unix milliseconds.
const localMs = (v) => Date.parse(`${v}:00+07:00`);

function closeWindow() {
  if ($("close-kind").value === "day") {
    const from = dayStart($("close-day").value || today());
    return [from, from + 86400000];
  }
  return [localMs($("close-from").value), localMs($("close-to").value)];
}

async function loadClose() {
  $("close-error").textContent = "";
  const [from, to] = closeWindow();
  if (!(from < to)) { $("close-error").textContent = t("err.bad_request"); return; }
  let c;
  try { c = await api("GET", `/api/v1/close?from_ms=${from}&to_ms=${to}`); }
  catch (e) { $("close-error").textContent = errText(e); return; }
  const section = (title, ...body) => el("section", { class: "close-part" }, el("h3", {}, title), ...body);
  $("close-sheet").replaceChildren(
    el("h2", {}, `${t("close_title")} — ${t("title")}`),
    el("dl", { class: "kv" },
      el("dt", {}, t("close_window")), el("dd", { id: "close-period" }, `${when(c.from_ms)} → ${when(c.to_ms)}`),
      el("dt", {}, t("entries")), el("dd", { id: "close-entries" }, c.entries),
      el("dt", {}, t("exits")), el("dd", { id: "close-exits" }, c.exits),
      el("dt", {}, t("total")), el("dd", { id: "close-total" }, vnd(c.revenue_total_vnd)),
      el("dt", {}, t("drawn_up_at")), el("dd", {}, `${when(Date.now())} · ${me ? me.name : ""}`)),
    section(t("revenue_by_channel"), table([["channel"], ["count", "num"], ["total", "num"]], c.revenue.map((r) =>
      el("tr", {}, el("td", {}, tr("channel", r.channel)), el("td", { class: "num" }, r.count), el("td", { class: "num" }, vnd(r.total_vnd)))))),
    section(t("manual_opens"), table([["time"], ["gate"], ["operator"], ["reason"], ["note"]], c.manual_opens.map((m) =>
      el("tr", { class: "close-manual-open" }, el("td", {}, when(m.at_ms)), el("td", {}, m.gate), el("td", {}, m.operator),
        el("td", {}, tr("reason", m.reason)), el("td", {}, m.note))))),
    section(t("open_exceptions"), table([["time"], ["gate"], ["kind"], ["state"]], c.open_exceptions.map((x) =>
      el("tr", {}, el("td", {}, when(x.at_ms)), el("td", {}, x.gate), el("td", {}, trKind(x.kind)), el("td", {}, alarmState(x)))))),
    section(t("invoices_h"), el("dl", { class: "kv" },
      el("dt", {}, t("invoices_issued")), el("dd", { id: "close-invoices" }, `${c.invoices_issued} · ${vnd(c.invoices_issued_vnd)}`),
      el("dt", {}, t("invoices_waiting")), el("dd", {}, c.invoices_waiting))),
    section(t("who_signed_in"), table([["name"], ["role"], ["first_sign_in"], ["last_sign_in"], ["sessions_count", "num"]], c.signed_in.map((p) =>
      el("tr", {}, el("td", {}, p.name || "—"), el("td", {}, tr("role", p.role)), el("td", {}, when(p.first_ms)), el("td", {}, when(p.last_ms)),
        el("td", { class: "num" }, p.sessions))))),
    el("div", { class: "signatures" }, el("p", {}, t("signature_operator")), el("p", {}, t("signature_receiver"))));
}
VIEWS.close = () => { showCloseFields(); loadClose(); };
