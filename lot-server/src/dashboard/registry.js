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

/// The buttons of a row: what an operator may do to that record.
function regActions(kind, r) {
  const put = (path, body) => async () => {
    try { await api("PUT", path, body); } catch (e) { $("live-state").textContent = errText(e); }
    loadRegistry(kind);
  };
  const button = (cls, key, onclick) => el("button", { type: "button", class: cls, onclick }, t(key));
  if (kind === "tags") {
    const tag = (state) => ({ epc: r.epc, tid: r.tid, vehicle_id: r.vehicle_id, state });
    const path = `/api/v1/tags/${encodeURIComponent(r.epc)}`;
    return [
      r.state === "active" ? button("block", "block", put(path, tag("blocked"))) : null,
      r.state === "blocked" || r.state === "suspended" ? button("unblock", "unblock", put(path, tag("active"))) : null,
      r.state !== "cloned" ? button("cloned", "mark_cloned", put(path, tag("cloned"))) : null,
      r.state !== "stolen" ? button("replace", "replace_tag", async () => {
        const epc = await askNote(`${t("replace_tag")} ${r.epc} — ${t("new_epc")}`, 4);
        if (!epc) return;
        try { await api("POST", `${path}/replace`, { epc: epc.replace(/\s/g, "").toUpperCase() }); }
        catch (e) { $("live-state").textContent = e.code === "bad_request" ? t("err.epc") : errText(e); }
        loadRegistry(kind);
      }) : null,
    ];
  }
  if (kind === "vehicles") {
    const vehicle = (state) => ({ plate: r.plate, class: r.class, owner_id: r.owner_id, account_id: r.account_id, state });
    const path = `/api/v1/vehicles/${encodeURIComponent(r.vehicle_id)}`;
    return r.state === "stolen" ? [button("unstolen", "cancel_stolen", put(path, vehicle("active")))] : [button("stolen", "report_stolen", put(path, vehicle("stolen")))];
  }
  if (kind === "accounts") {
    const account = (state) => ({ owner_id: r.owner_id, credit_limit_vnd: r.credit_limit_vnd, state });
    const path = `/api/v1/accounts/${encodeURIComponent(r.account_id)}`;
    return [
      button("top-up", "top_up", () => topUp(r)),
      button("driver", "driver_access", () => driverAccess(r.owner_id)),
      r.state === "blocked" ? button("unblock", "unblock_account", put(path, account("active"))) : button("block", "block_account", put(path, account("blocked"))),
    ];
  }
  return [];
}

async function loadRegistry(kind) {
  regKind = kind || regKind;
  const cols = REG[regKind];
  for (const b of document.querySelectorAll("[data-reg]")) b.classList.toggle("active", b.dataset.reg === regKind);
  const withAction = regKind !== "passes";
  $("reg-head").replaceChildren(el("tr", {}, cols.map(([k]) => el("th", {}, t(k))), withAction ? el("th", {}, el("span", { class: "sr" }, t("details"))) : null));
  try {
    const rows = await api("GET", `/api/v1/${regKind}?limit=200`);
    const key = { vehicles: "vehicle_id", tags: "epc", passes: "pass_id", accounts: "account_id" }[regKind];
    $("reg-rows").replaceChildren(...(rows.length ? rows.map((r) => el("tr", { class: "reg-row", "data-id": r[key] }, cols.map(([, f]) => el("td", {}, f(r))),
      withAction ? el("td", { class: "actions" }, regActions(regKind, r)) : null)) : [emptyRow(cols.length + 1)]));
  } catch (e) { $("reg-rows").replaceChildren(emptyRow(cols.length + 1, errText(e), "error")); }
}
VIEWS.registry = () => loadRegistry();
