// The registry view: vehicles, tags, passes and accounts, with their
// states in words, and a manual top-up of an account with a reference.
"use strict";

let regKind = "vehicles";
for (const b of document.querySelectorAll("[data-reg]")) b.addEventListener("click", () => loadRegistry(b.dataset.reg));
const REG = {
  vehicles: [["plate", (r) => plateText(r.plate)], ["class", (r) => tr("class", r.class)], ["owner", (r) => r.owner_id || "—"], ["accounts", (r) => r.account_id || "—"], ["state_word", (r) => tr("reg", r.state)]],
  tags: [["credential", (r) => r.epc], ["vehicle", (r) => r.vehicle_id], ["state_word", (r) => tr("reg", r.state)]],
  passes: [["vehicle", (r) => r.vehicle_id], ["valid", (r) => `${r.valid_from} → ${r.valid_until}`], ["fee", (r) => vnd(r.price_vnd)], ["state_word", (r) => tr("reg", r.state)]],
  accounts: [["accounts", (r) => r.account_id], ["owner", (r) => r.owner_id], ["balance", (r) => vnd(r.balance_vnd)], ["code_word", (r) => r.topup_code || "—"], ["state_word", (r) => tr("reg", r.state)]],
};

async function topUp(r) {
  const amount = await askNote(`${t("top_up")} ${r.account_id} (₫)`, 1);
  if (!amount) return;
  const n = Number(amount.replace(/[^0-9]/g, ""));
  if (!n) return;
  const reference = await askNote(`${t("reference")}: ${vnd(n)}`, 1);
  if (!reference) return;
  try { await api("POST", `/api/v1/accounts/${encodeURIComponent(r.account_id)}/top-ups`, { amount_vnd: n, reference }); }
  catch (e) { $("live-state").textContent = errText(e); }
  loadRegistry("accounts");
}

async function loadRegistry(kind) {
  regKind = kind || regKind;
  const cols = REG[regKind];
  for (const b of document.querySelectorAll("[data-reg]")) b.classList.toggle("active", b.dataset.reg === regKind);
  const withAction = regKind === "accounts";
  $("reg-head").replaceChildren(el("tr", {}, cols.map(([k]) => el("th", {}, t(k))), withAction ? el("th", {}, el("span", { class: "sr" }, t("top_up"))) : null));
  try {
    const rows = await api("GET", `/api/v1/${regKind}?limit=200`);
    $("reg-rows").replaceChildren(...(rows.length ? rows.map((r) => el("tr", {}, cols.map(([, f]) => el("td", {}, f(r))),
      withAction ? el("td", {}, el("button", { type: "button", onclick: () => topUp(r) }, t("top_up"))) : null)) : [emptyRow(cols.length + 1)]));
  } catch (e) { $("reg-rows").replaceChildren(emptyRow(cols.length + 1, errText(e), "error")); }
}
VIEWS.registry = () => loadRegistry();
