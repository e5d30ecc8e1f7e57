// The desk's part in the drivers' app: a PIN (shown once), a one-time
// sign-in link with its QR to print, unlocking a number locked by wrong
// PINs. Opened from an account's row or a registration just made.
"use strict";

let driverOwner = null;

function driverAccess(ownerId) {
  driverOwner = ownerId;
  $("driver-out").textContent = "";
  $("driver-error").textContent = "";
  $("driver-qr").hidden = true;
  $("driver-print").hidden = true;
  $("driver-dialog").showModal();
}

async function driverCall(path, body, show) {
  $("driver-error").textContent = "";
  try { show(await api("POST", `/api/v1/owners/${encodeURIComponent(driverOwner)}/${path}`, body)); }
  catch (e) { $("driver-error").textContent = errText(e); }
}

$("driver-pin").addEventListener("click", () => driverCall("pin", {}, (r) => {
  $("driver-qr").hidden = true;
  $("driver-out").replaceChildren(t("pin_once") + " ", el("code", {}, r.pin), " · " + t("phone_word") + " " + r.phone);
}));
$("driver-link").addEventListener("click", () => driverCall("sign-in-link", undefined, (r) => {
  const url = r.url.startsWith("http") ? r.url : location.origin + r.url;
  $("driver-qr").src = "data:image/svg+xml;base64," + btoa(unescape(encodeURIComponent(r.qr_svg)));
  $("driver-qr").alt = t("link_qr");
  $("driver-qr").hidden = false;
  $("driver-print").hidden = false;
  $("driver-out").replaceChildren(t("link_until") + " " + when(r.expires_ms) + ": ", el("code", {}, url));
}));
$("driver-unlock").addEventListener("click", () => driverCall("unlock", undefined, (r) => {
  $("driver-out").textContent = t("unlocked") + " " + r.phone;
}));
$("driver-print").addEventListener("click", () => window.print());
$("driver-close").addEventListener("click", () => $("driver-dialog").close());
$("desk-driver").addEventListener("click", () => { if (desk.owner) driverAccess(desk.owner.owner_id); });
