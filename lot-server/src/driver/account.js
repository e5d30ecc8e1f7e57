// A driver's own account: signing in with phone and PIN (or a printed
// link), then their notices, balances with a top-up VietQR that watches
// for the money, vehicles and tags with a "lost tag" button, monthly
// passes bought or renewed from the balance, and their stays with
// receipts. Every call goes to the lot they signed in to.
"use strict";

let myBase = localStorage.getItem("driverBase");
let mine = null;
let topUpWatch = null;
const tagStates = new Set(["active", "suspended", "blocked", "stolen", "cloned"]);

function showSignIn(lots) {
  $("mine").hidden = true;
  $("signin").hidden = false;
  $("signin-lot").replaceChildren(...lots.map((l) => el("option", { value: l.base }, l.name)));
  $("signin-lot-label").hidden = lots.length < 2;
}

function noticeText(n) {
  if (n.kind === "low_balance") return t("notice_low_balance").replace("{amount}", vnd(n.balance_vnd));
  if (n.kind === "pass_ending") return t("notice_pass_ending").replace("{plate}", n.plate).replace("{date}", n.valid_until);
  return t("notice_long_stay").replace("{plate}", n.plate || "").replace("{since}", when(new Date(n.entered_ms).toISOString()));
}

function accountCard(a) {
  const amount = el("input", { type: "number", min: "10000", step: "10000", value: "200000", id: "topup-" + a.account_id, "aria-label": t("topup_amount") });
  const out = el("div", { "aria-live": "polite" });
  const button = el("button", { type: "button", class: "primary" }, t("topup_qr"));
  button.addEventListener("click", async () => {
    try {
      const q = await send("GET", `${myBase}/api/v1/driver/accounts/${encodeURIComponent(a.account_id)}/top-up-qr?amount_vnd=${Number(amount.value)}`);
      const img = "data:image/svg+xml;base64," + btoa(unescape(encodeURIComponent(q.qr_svg)));
      out.replaceChildren(
        el("img", { src: img, alt: t("qr_alt"), width: "240", height: "240", class: "qr" }),
        el("dl", { class: "facts" },
          el("div", {}, el("dt", {}, t("account_no")), el("dd", {}, el("span", { class: "mono" }, q.bank_account), " ", copyButton(q.bank_account))),
          el("div", {}, el("dt", {}, t("amount")), el("dd", {}, vnd(q.amount_vnd))),
          el("div", {}, el("dt", {}, t("memo")), el("dd", {}, el("span", { class: "mono" }, q.topup_code), " ", copyButton(q.topup_code)))),
        el("p", { class: "muted", role: "status" }, t("waiting")));
      watchBalance(a.account_id, a.balance_vnd, out);
    } catch (e) { out.replaceChildren(el("p", { class: "error" }, errText(e))); }
  });
  return el("div", { class: "card account" },
    el("p", { class: "big" }, vnd(a.balance_vnd)),
    el("dl", { class: "facts" },
      el("div", {}, el("dt", {}, t("credit_limit")), el("dd", {}, vnd(a.credit_limit_vnd))),
      el("div", {}, el("dt", {}, t("topup_code")), el("dd", {}, el("span", { class: "mono" }, a.topup_code || "—")))),
    el("label", {}, el("span", {}, t("topup_amount")), amount), button, out);
}

// Asks again every few seconds until the balance moves.
function watchBalance(accountId, before, out) {
  if (topUpWatch) clearTimeout(topUpWatch);
  const look = async () => {
    if (!location.hash.startsWith("#account")) return;
    try {
      const r = await send("GET", `${myBase}/api/v1/driver/me`);
      const a = r.me.accounts.find((x) => x.account_id === accountId);
      if (a && a.balance_vnd > before) {
        out.replaceChildren(el("div", { class: "banner ok", role: "status" }, el("strong", {}, t("topped_up") + " " + vnd(a.balance_vnd - before))));
        setTimeout(() => VIEWS.account(), 1500);
        return;
      }
    } catch (_) { /* keep asking */ }
    topUpWatch = setTimeout(look, 4000);
  };
  topUpWatch = setTimeout(look, 4000);
}

function vehicleCard(v) {
  const tags = v.tags.map((g) => {
    const state = tagStates.has(g.state) ? tr("tag", g.state) : g.state;
    const lost = g.state === "active" ? el("button", { type: "button", class: "danger" }, t("report_lost")) : null;
    if (lost) lost.addEventListener("click", () => reportLost(g.epc, v.plate));
    return el("li", {}, el("span", { class: "mono" }, "…" + g.epc.slice(-8)), " · ", el("strong", {}, state), " ", lost);
  });
  const passes = v.passes.map((p) => el("li", {}, `${t("pass")}: ${p.valid_from} → ${p.valid_until}` + (p.state === "active" ? "" : ` (${tr("pass_state", p.state)})`)));
  return el("div", { class: "card" }, el("h4", {}, v.plate + " · " + tr("class", v.class)),
    el("ul", { class: "plain" }, ...tags, ...passes));
}

function reportLost(epc, plate) {
  $("lost-text").textContent = t("lost_text").replace("{plate}", plate);
  $("lost-dialog").returnValue = "";
  $("lost-dialog").onclose = async () => {
    if ($("lost-dialog").returnValue !== "yes") return;
    try {
      await send("POST", `${myBase}/api/v1/driver/tags/${encodeURIComponent(epc)}/lost`);
      VIEWS.account();
    } catch (e) { $("account-error").textContent = errText(e); }
  };
  $("lost-dialog").showModal();
}

function stayItem(s) {
  const receipts = (s.receipts || []).map((r) => el("a", { href: r.receipt_url, class: "button" }, t("receipt") + " " + vnd(r.total_vnd)));
  const fee = s.fee_vnd === null || s.fee_vnd === undefined ? t("inside_now") : vnd(s.fee_vnd);
  return el("li", { class: "card" },
    el("p", {}, el("strong", {}, (s.plate ? plateOf(s.plate) + " · " : "") + tr("class", s.class))),
    el("p", { class: "muted" }, when(new Date(s.entered_ms || s.exited_ms).toISOString()) + (s.exited_ms ? " – " + clock(new Date(s.exited_ms).toISOString()) : "")),
    el("p", {}, fee + (s.settlement ? " · " + tr("settled", s.settlement) : "")), ...receipts);
}

// 30A12345 → 30A-123.45, as plates are written.
const plateOf = (p) => p.replace(/^(\d{2}[A-Z]{1,2}\d?)(\d{3})(\d{2})$/, "$1-$2.$3");

async function offer() {
  $("pass-error").textContent = "";
  if (!$("pass-vehicle").value) return;
  try {
    const o = await send("GET", `${myBase}/api/v1/driver/passes/offer?vehicle_id=${encodeURIComponent($("pass-vehicle").value)}&months=${$("pass-months").value}`);
    $("pass-offer").textContent = `${vnd(o.price_vnd)} · ${t(o.renewal ? "renew_from" : "valid_from")} ${o.valid_from}`;
  } catch (e) { $("pass-offer").textContent = ""; $("pass-error").textContent = errText(e); }
}

function renderMine(r) {
  mine = r.me;
  $("signin").hidden = true;
  $("mine").hidden = false;
  $("mine-hello").textContent = t("hello") + " " + mine.name;
  $("notices").replaceChildren(...r.notices.map((n) => el("div", { class: "banner warn", role: "status" }, noticeText(n))));
  $("accounts").replaceChildren(...mine.accounts.map(accountCard));
  $("vehicles").replaceChildren(...mine.vehicles.map(vehicleCard));
  $("pass-vehicle").replaceChildren(...mine.vehicles.map((v) => el("option", { value: v.vehicle_id }, v.plate)));
  $("pass-account").replaceChildren(...mine.accounts.map((a) => el("option", { value: a.account_id }, `${a.topup_code || a.account_id.slice(0, 8)} · ${vnd(a.balance_vnd)}`)));
  offer();
}

VIEWS.account = async function (_, link) {
  $("account-error").textContent = "";
  try {
    const lots = lotsCache || (await allLots());
    if (link && link.length === 2) {
      const lot = lots.find((l) => l.id === link[0]);
      if (lot) {
        try {
          await send("POST", `${lot.base}/api/v1/driver/link`, { key: link[1] });
          myBase = lot.base;
          localStorage.setItem("driverBase", myBase);
        } catch (e) { $("account-error").textContent = errText(e); }
      }
      history.replaceState(null, "", "#account");
    }
    if (!myBase) return showSignIn(lots);
    renderMine(await send("GET", `${myBase}/api/v1/driver/me`));
    $("stays").replaceChildren(...(await send("GET", `${myBase}/api/v1/driver/stays?limit=20`)).map(stayItem));
  } catch (e) {
    if (e.code === "unauthorized") return showSignIn(lotsCache || []);
    $("account-error").textContent = errText(e);
  }
};

$("signin").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("signin-error").textContent = "";
  const base = $("signin-lot").value || (lotsCache && lotsCache[0].base);
  try {
    await send("POST", `${base}/api/v1/driver/login`, { phone: $("signin-phone").value, pin: $("signin-pin").value });
    myBase = base;
    localStorage.setItem("driverBase", base);
    $("signin-pin").value = "";
    VIEWS.account();
  } catch (e) { $("signin-error").textContent = errText(e); }
});

$("signout").addEventListener("click", async () => {
  try { await send("POST", `${myBase}/api/v1/driver/logout`); } catch (_) { /* signed out either way */ }
  myBase = null;
  localStorage.removeItem("driverBase");
  VIEWS.account();
});

$("pass-vehicle").addEventListener("change", offer);
$("pass-months").addEventListener("change", offer);
$("pass-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("pass-error").textContent = "";
  const body = { vehicle_id: $("pass-vehicle").value, months: Number($("pass-months").value), account_id: $("pass-account").value };
  try {
    const sold = await send("POST", `${myBase}/api/v1/driver/passes`, body);
    $("pass-offer").textContent = `${t("pass_bought")}: ${sold.pass.valid_from} → ${sold.pass.valid_until}`;
    VIEWS.account();
  } catch (e) { $("pass-error").textContent = errText(e); }
});
