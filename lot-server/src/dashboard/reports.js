// The revenue view: a period's revenue by day, class and channel, its
// totals, the exits by channel, and the mismatches to review; CSV and
// XLSX downloads of the same report.
"use strict";

$("rep-from").value = today();
$("rep-to").value = today();
$("report-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadReport(); });

async function loadReport() {
  const q = `from=${$("rep-from").value}&to=${$("rep-to").value}`;
  $("rep-csv").href = BASE + `/api/v1/reports/revenue?${q}&format=csv`;
  $("rep-xlsx").href = BASE + `/api/v1/reports/revenue?${q}&format=xlsx&lang=${lang}`;
  let rep;
  try { rep = await api("GET", `/api/v1/reports/revenue?${q}`); } catch (e) { $("report").textContent = errText(e); return; }
  const rows = rep.by_day.map((r) => el("tr", {}, el("td", {}, r.period), el("td", {}, tr("class", r.class)), el("td", {}, tr("channel", r.channel)),
    el("td", { class: "num" }, r.count), el("td", { class: "num" }, vnd(r.net_vnd)), el("td", { class: "num" }, vnd(r.vat_vnd)), el("td", { class: "num" }, vnd(r.total_vnd))));
  const tot = rep.totals;
  const mism = rep.reconciliation.mismatches.map((m) => el("li", { class: "mismatch mismatch-" + m.kind, "data-kind": m.kind },
    el("strong", {}, tr("mismatch", m.kind)), ` · ${when(m.at)}${m.amount_vnd ? " · " + vnd(m.amount_vnd) : ""} · ${alarmDetail(m)}`));
  const ex = rep.reconciliation.exits;
  const num = ["count", "net", "vat", "total"];
  const exits = ["account", "transfer", "pass", "free", "unpaid"].map((c) => `${tr("channel", c)} ${ex[c]}`).join(", ");
  $("report").replaceChildren(
    el("div", { class: "scroll" }, el("table", {},
      el("thead", {}, el("tr", {}, ["day", "class", "channel", ...num].map((k) => el("th", { class: num.includes(k) ? "num" : "" }, t(k))))),
      el("tbody", {}, rows.length ? rows : emptyRow(7)),
      el("tfoot", {}, el("tr", {}, el("th", { colspan: 3 }, t("total")), el("th", { class: "num" }, tot.count), el("th", { class: "num" }, vnd(tot.net_vnd)),
        el("th", { class: "num" }, vnd(tot.vat_vnd)), el("th", { class: "num" }, vnd(tot.total_vnd)))))),
    el("p", {}, `${t("exits")}: ${ex.total} (${exits}) · ${t("topups")}: ${vnd(rep.topups.total_vnd)}`),
    el("h2", {}, `${t("mismatches")} (${mism.length})`),
    el("ul", { id: "mismatches" }, mism));
}
VIEWS.revenue = loadReport;
