// The registration desk: a new customer in one pass (owner, vehicle, tag,
// account), an opening top-up and a monthly pass paid by VietQR (the
// customer's transfer lands in the account, whose balance the page
// watches), the pass then sold from the account. A step that fails keeps
// what was made before it, so a corrected form carries on from there.
"use strict";

let desk = {};
let deskWatch = null;

const compactPlate = (p) => p.toUpperCase().replace(/[\s.\-·]/g, "");
const PLATE = /^\d{2}[A-Z]{1,2}\d?\d{4,5}$/;

async function showPassPrice() {
  const months = Number($("desk-months").value);
  if (!months) { $("desk-price").textContent = ""; return; }
  try {
    const p = await api("GET", `/api/v1/passes/price?class=${$("desk-class").value}&months=${months}`);
    desk.price = p.price_vnd;
    $("desk-price").textContent = `${t("pass_price")}: ${vnd(p.price_vnd)}`;
  } catch (e) { desk.price = null; $("desk-price").textContent = errText(e); }
}
$("desk-months").addEventListener("change", showPassPrice);
$("desk-class").addEventListener("change", showPassPrice);

function resetDesk() {
  if (deskWatch) clearInterval(deskWatch);
  deskWatch = null;
  desk = {};
  $("desk-form").reset();
  $("desk-result").hidden = true;
  $("desk-pay").hidden = true;
  $("desk-done").textContent = "";
  $("desk-error").textContent = "";
  $("desk-price").textContent = "";
  $("desk-read").textContent = "";
}
$("desk-new").addEventListener("click", resetDesk);

/// What the form says, checked; a message key for the first thing wrong.
function deskInput() {
  const v = {
    name: $("desk-name").value.trim(), id: $("desk-id").value.replace(/\s/g, ""), phone: $("desk-phone").value.trim(),
    plate: $("desk-plate").value.trim(), cls: $("desk-class").value, epc: $("desk-epc").value.replace(/\s/g, "").toUpperCase(),
    tid: $("desk-tid").value.replace(/\s/g, "").toUpperCase(), topup: Number($("desk-topup").value.replace(/[.,\s₫đ]/g, "") || 0),
    months: Number($("desk-months").value),
  };
  if (!v.name) return [v, "err.name_required"];
  if (!/^(\d{9}|\d{12})$/.test(v.id)) return [v, "err.citizen_id"];
  if (!PLATE.test(compactPlate(v.plate))) return [v, "err.plate"];
  if (v.epc && !/^([0-9A-F]{4}){1,31}$/.test(v.epc)) return [v, "err.epc"];
  if (!Number.isInteger(v.topup) || v.topup < 0) return [v, "err.amount"];
  return [v, null];
}

$("desk-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("desk-error").textContent = "";
  const [v, wrong] = deskInput();
  if (wrong) { $("desk-error").textContent = t(wrong); return; }
  let step = "";
  try {
    step = "owner";
    if (!desk.owner) desk.owner = await api("POST", "/api/v1/owners", { name: v.name, id_number: v.id, phone: v.phone || undefined });
    step = "account";
    if (!desk.account) desk.account = await api("POST", "/api/v1/accounts", { owner_id: desk.owner.owner_id });
    step = "vehicle";
    if (!desk.vehicle) desk.vehicle = await api("POST", "/api/v1/vehicles", { plate: v.plate, class: v.cls, owner_id: desk.owner.owner_id, account_id: desk.account.account_id });
    step = "tag";
    if (v.epc && !desk.tag) desk.tag = await api("POST", "/api/v1/tags", { epc: v.epc, tid: v.tid || undefined, vehicle_id: desk.vehicle.vehicle_id });
  } catch (e) {
    const byStep = { owner: "err.citizen_id", vehicle: "err.plate", tag: "err.epc" };
    $("desk-error").textContent = e.code === "bad_request" && byStep[step] ? t(byStep[step]) : errText(e);
    return;
  }
  desk.months = v.months;
  desk.needed = v.topup + (v.months ? desk.price || 0 : 0);
  showRegistered();
});

function showRegistered() {
  const a = desk.account;
  $("desk-summary").replaceChildren(
    el("dt", {}, t("owner")), el("dd", {}, desk.owner.name),
    el("dt", {}, t("plate")), el("dd", {}, plateText(compactPlate(String(desk.vehicle.plate)))),
    el("dt", {}, t("tags")), el("dd", {}, desk.tag ? desk.tag.epc : "—"),
    el("dt", {}, t("topup_code")), el("dd", { id: "desk-code" }, a.topup_code || "—"),
    el("dt", {}, t("balance")), el("dd", { id: "desk-balance" }, vnd(a.balance_vnd)));
  $("desk-result").hidden = false;
  $("desk-result").scrollIntoView({ block: "start" });
  if (desk.needed > 0) payByQr(); else $("desk-done").textContent = t("done");
}

async function payByQr() {
  $("desk-pay").hidden = false;
  $("desk-pay-title").textContent = `${t("scan_to_pay")}: ${vnd(desk.needed)}`;
  try {
    const q = await api("GET", `/api/v1/accounts/${encodeURIComponent(desk.account.account_id)}/top-up-qr?amount_vnd=${desk.needed}`);
    $("desk-qr").src = BASE + "/api/v1/qr.svg?text=" + encodeURIComponent(q.payload);
    $("desk-qr").alt = `VietQR ${vnd(desk.needed)} · ${q.topup_code}`;
  } catch (e) { $("desk-wait").textContent = errText(e); }
  $("desk-wait").textContent = t("waiting_transfer");
  const start = desk.account.balance_vnd;
  if (deskWatch) clearInterval(deskWatch);
  deskWatch = setInterval(async () => {
    let a;
    try { a = await api("GET", `/api/v1/accounts/${encodeURIComponent(desk.account.account_id)}`); } catch (_) { return; }
    desk.account = a;
    $("desk-balance").textContent = vnd(a.balance_vnd);
    if (a.balance_vnd - start >= desk.needed || a.balance_vnd >= desk.needed) {
      clearInterval(deskWatch);
      deskWatch = null;
      $("desk-wait").textContent = `${t("received")}: ${vnd(a.balance_vnd)}`;
      if (desk.months) $("desk-sell").hidden = false; else $("desk-done").textContent = t("done");
    }
  }, 1500);
}

$("desk-sell").addEventListener("click", async () => {
  try {
    const sold = await api("POST", "/api/v1/passes/sell", { vehicle_id: desk.vehicle.vehicle_id, months: desk.months, account_id: desk.account.account_id });
    $("desk-sell").hidden = true;
    $("desk-balance").textContent = vnd(sold.balance_vnd);
    $("desk-done").textContent = `${t("pass_sold")}: ${vnd(sold.price_vnd)}, ${sold.pass.valid_from} → ${t("valid_until")} ${sold.pass.valid_until}`;
  } catch (e) { $("desk-done").textContent = errText(e); }
});

/// A tag read at a desk's reader: the form fills itself, while the desk
/// is open and the customer's tag is not yet registered.
function onDeskRead(r) {
  if (currentView !== "desk" || desk.tag) return;
  $("desk-epc").value = r.epc;
  $("desk-tid").value = r.tid || "";
  $("desk-read").textContent = `${t("read_at_desk")} ${r.desk}: ${r.epc}`;
}

VIEWS.desk = () => showPassPrice();
