// The money view (operators, admins): transfers no stay or account
// matched, resolved to a stay, an account or a refund with a note; refunds
// owed, marked paid with the bank's reference (admins); and a top-up
// booked by hand with a reference.
"use strict";

let resolving = null;

async function accountChoices(select) {
  const rows = await api("GET", "/api/v1/accounts?limit=1000").catch(() => []);
  select.replaceChildren(...rows.map((a) => el("option", { value: a.account_id }, `${a.topup_code || a.account_id} · ${vnd(a.balance_vnd)}`)));
}

function askResolve(x) {
  resolving = x;
  $("resolve-amount").textContent = vnd(x.amount_vnd);
  $("resolve-memo").textContent = x.memo || "";
  $("resolve-action").value = "stay";
  $("resolve-code").value = x.payment_code || "";
  $("resolve-note").value = "";
  $("resolve-error").textContent = "";
  showResolveFields();
  accountChoices($("resolve-account"));
  $("resolve-dialog").showModal();
}
function showResolveFields() {
  $("resolve-code-box").hidden = $("resolve-action").value !== "stay";
  $("resolve-account-box").hidden = $("resolve-action").value !== "account";
}
$("resolve-action").addEventListener("change", showResolveFields);
$("resolve-cancel").addEventListener("click", () => $("resolve-dialog").close());
$("resolve-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const action = $("resolve-action").value;
  const note = $("resolve-note").value.trim();
  const body = { action, note };
  if (action === "stay") body.payment_code = $("resolve-code").value.trim().toUpperCase();
  if (action === "account") body.account_id = $("resolve-account").value;
  if (!note) { $("resolve-error").textContent = t("err.note_short"); return; }
  try {
    await api("POST", `/api/v1/transfers/${encodeURIComponent(resolving.transfer_id)}/resolve`, body);
    $("resolve-dialog").close();
    loadMoney();
  } catch (e) {
    $("resolve-error").textContent = e.code === "bad_request" && action === "stay" ? t("err.code_invalid") : errText(e);
  }
});

async function refunded(x) {
  const reference = await askNote(`${t("bank_reference")} · ${vnd(x.refund_vnd)}`, 1);
  if (!reference) return;
  try { await api("POST", `/api/v1/transfers/${encodeURIComponent(x.transfer_id)}/refund-paid`, { reference }); }
  catch (e) { $("live-state").textContent = errText(e); }
  loadMoney();
}

$("topup-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const amount = Number($("topup-amount").value.replace(/[.,\s₫đ]/g, ""));
  if (!Number.isInteger(amount) || amount <= 0) { $("topup-result").textContent = t("err.amount"); return; }
  try {
    const a = await api("POST", `/api/v1/accounts/${encodeURIComponent($("topup-account").value)}/top-ups`,
      { amount_vnd: amount, reference: $("topup-reference").value.trim() });
    $("topup-result").textContent = `${t("topped_up")}: ${vnd(a.balance_vnd)}`;
    $("topup-amount").value = "";
    $("topup-reference").value = "";
    accountChoices($("topup-account"));
  } catch (e) { $("topup-result").textContent = errText(e); }
});

async function loadMoney() {
  const suspense = await api("GET", "/api/v1/transfers?state=suspense&limit=200").catch((e) => e);
  $("suspense-rows").replaceChildren(...(suspense instanceof Error ? [emptyRow(5, errText(suspense), "error")] : suspense.length ? suspense.map((x) => el("tr", { class: "suspense-row", "data-id": x.transfer_id },
    el("td", {}, when(x.received_ms)), el("td", { class: "num" }, vnd(x.amount_vnd)), el("td", {}, x.memo || "—"),
    el("td", {}, tr("transfer", x.state)),
    el("td", {}, el("button", { type: "button", class: "resolve", onclick: () => askResolve(x) }, t("resolve"))))) : [emptyRow(5)]));
  const refunds = await api("GET", "/api/v1/transfers?state=refunds&limit=200").catch((e) => e);
  const admin = me && me.role === "admin";
  $("refund-rows").replaceChildren(...(refunds instanceof Error ? [emptyRow(5, errText(refunds), "error")] : refunds.length ? refunds.map((x) => el("tr", { class: "refund-row", "data-id": x.transfer_id },
    el("td", {}, when(x.received_ms)), el("td", { class: "num" }, vnd(x.refund_vnd)), el("td", {}, x.memo || "—"), el("td", {}, x.note || "—"),
    el("td", {}, admin ? el("button", { type: "button", class: "refunded", onclick: () => refunded(x) }, t("mark_refunded")) : ""))) : [emptyRow(5)]));
  accountChoices($("topup-account"));
}
VIEWS.money = loadMoney;
