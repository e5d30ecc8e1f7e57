// Finding a space: every lot with its free spaces; one lot's address,
// hours, tariff as a table a driver can read, and the fee estimator.
"use strict";

function freeText(c) {
  if (c.free === 0) return t("full");
  return c.free + " " + t("free") + " " + t("of") + " " + c.capacity;
}

function freeItems(classes) {
  return classes.map((c) => {
    const almost = c.free > 0 && c.free * 10 < c.capacity;
    return el("li", { class: c.free === 0 ? "full" : almost ? "almost" : "ok" },
      el("span", { class: "cls" }, tr("class", c.class)),
      el("strong", {}, freeText(c)),
      almost ? el("span", { class: "muted" }, " · " + t("almost_full")) : null);
  });
}

VIEWS.lots = async function () {
  $("lots-error").textContent = "";
  try {
    const lots = await allLots();
    $("lots").replaceChildren(...lots.map((l) => el("li", { class: "card" },
      el("h3", {}, l.name),
      l.address ? el("p", { class: "muted" }, l.address) : null,
      l.classes.length ? el("ul", { class: "free" }, ...freeItems(l.classes)) : el("p", { class: "muted" }, t("no_capacity")),
      el("p", { class: "muted" }, t("updated") + " " + clock(l.updated_at)),
      el("a", { href: "#lot/" + encodeURIComponent(l.id), class: "button" }, t("open_lot")))));
  } catch (e) {
    $("lots-error").textContent = errText(e);
  }
};

// One class's prices, as sentences.
function priceRows(tariff, cls, p) {
  const rows = [];
  const win = " (" + tariff.day_starts + "–" + tariff.night_starts + ")";
  if (p.per_turn) {
    rows.push([t("day_window") + win, vnd(p.per_turn.day) + " " + t("per_turn")]);
    rows.push([t("night_window"), vnd(p.per_turn.night) + " " + t("per_turn")]);
    if (p.per_turn.overnight_turns > 1) rows.push([t("overnight"), p.per_turn.overnight_turns + " " + t("night_turns")]);
  }
  if (p.block) {
    rows.push([p.block.first_minutes + " " + t("minutes") + " " + t("first"), vnd(p.block.first_price)]);
    rows.push([t("each_hour_day") + win, vnd(p.block.per_hour_day)]);
    rows.push([t("each_hour_night"), vnd(p.block.per_hour_night)]);
  }
  if (p.daily_cap) rows.push([t("cap"), vnd(p.daily_cap)]);
  if (p.grace_minutes) rows.push([t("grace"), p.grace_minutes + " " + t("minutes")]);
  if (p.monthly_pass) rows.push([t("pass"), vnd(p.monthly_pass)]);
  return el("div", { class: "card" }, el("h4", {}, tr("class", cls)),
    el("dl", { class: "facts" }, ...rows.map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", {}, v)))));
}

// A fee's lines as a table, and its total; on a phone each line is a
// block whose cells carry their column's name (app.css, `table.lines`).
function feeTable(fee) {
  const cols = ["item", "period", "qty", "unit_price", "line_amount"];
  const head = el("tr", {}, ...cols.map((k) => el("th", { scope: "col" }, t(k))));
  const cell = (k, text, num) => el("td", { class: num ? "n" : null, "data-label": t(k) }, text);
  const rows = fee.items.map((i) => {
    const flat = i.kind === "daily_cap" || i.kind === "grace";
    return el("tr", {},
      cell("item", tr("item", i.kind)),
      cell("period", when(i.from) + " – " + clock(i.to)),
      cell("qty", flat ? "—" : String(i.quantity), true),
      cell("unit_price", flat ? "—" : vnd(i.unit_price), true),
      cell("line_amount", vnd(i.amount), true));
  });
  const total = el("tr", { class: "total" }, el("th", { scope: "row", colspan: "4" }, t("total")),
    el("td", { class: "n", "data-label": t("total") }, vnd(fee.amount)));
  // Focusable, so a keyboard can scroll it on a narrow screen.
  return el("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": t("fee_lines") },
    el("table", { class: "lines" }, el("thead", {}, head), el("tbody", {}, ...rows, total)));
}

let shownLot = null;
VIEWS.lot = async function (id) {
  try {
    const lots = lotsCache || (await allLots());
    shownLot = lots.find((l) => l.id === id) || lots[0];
    const data = await get(shownLot.base + "/api/v1/public/lot");
    const lot = data.lot;
    $("lot-name").textContent = lot.name;
    facts($("lot-facts"), [[t("address"), lot.address], [t("hours"), lot.opening_hours], [t("updated"), clock(lot.updated_at)]]);
    $("lot-free").replaceChildren(...freeItems(lot.classes));
    const tariff = data.tariff;
    $("tariff-note").textContent = tariff ? t("tariff_in_force") + " " + t("effective") + " " + tariff.effective_from : t("no_tariff");
    const classes = tariff ? Object.keys(tariff.classes) : [];
    $("tariff").replaceChildren(...classes.map((c) => priceRows(tariff, c, tariff.classes[c])));
    $("est-class").replaceChildren(...classes.map((c) => el("option", { value: c }, tr("class", c))));
    if (!$("est-from").value) {
      const local = new Date(new Date(data.now).getTime() + 7 * 3600e3).toISOString().slice(0, 11);
      $("est-from").value = local + "09:00";
      $("est-to").value = local + "14:30";
    }
  } catch (e) {
    $("lot-name").textContent = errText(e);
  }
};

$("estimate").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("est-error").textContent = "";
  $("est-result").replaceChildren();
  const q = new URLSearchParams({ class: $("est-class").value, from: $("est-from").value, to: $("est-to").value });
  try {
    const r = await get(shownLot.base + "/api/v1/public/estimate?" + q);
    $("est-result").replaceChildren(el("p", { class: "big" }, t("total") + ": " + vnd(r.fee.amount)), feeTable(r.fee));
  } catch (e) {
    $("est-error").textContent = errText(e);
  }
});
