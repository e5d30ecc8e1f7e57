// What I owe: a ticket's text (scanned or typed), its payment code or a
// plate finds the stay under way; the fee so far, line by line; the
// VietQR to pay what is left; and, asked again every few seconds while
// money is owed, the turn to "paid, you may leave".
"use strict";

const POLL_MS = 5000;
let polling = null;
let asked = null; // { base, q }

function stopPolling() {
  if (polling) clearTimeout(polling);
  polling = null;
}

function copyButton(text) {
  const b = el("button", { type: "button", class: "small" }, t("copy"));
  b.addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(text); b.textContent = t("copied"); } catch (_) { /* the text stays selectable */ }
  });
  return b;
}

function payBox(r) {
  const img = "data:image/svg+xml;base64," + btoa(unescape(encodeURIComponent(r.pay.qr_svg)));
  const row = (k, v, copy) => el("div", {}, el("dt", {}, k), el("dd", {}, el("span", { class: "mono" }, v), " ", copy ? copyButton(copy) : null));
  return el("section", { class: "card pay", "aria-labelledby": "pay-h" },
    el("h3", { id: "pay-h" }, t("pay_title")),
    el("p", {}, t("pay_how")),
    el("img", { src: img, alt: t("qr_alt"), width: "240", height: "240", class: "qr" }),
    r.pay.link ? el("p", {}, el("a", { href: r.pay.link, class: "button primary", rel: "noopener noreferrer" }, t("open_bank"))) : null,
    el("p", {}, el("a", { href: img, download: "vietqr-" + r.payment_code + ".svg", class: "button" }, t("save_qr"))),
    el("dl", { class: "facts" },
      row(t("bank"), r.pay.bank_bin),
      row(t("account_no"), r.pay.bank_account, r.pay.bank_account),
      row(t("amount"), vnd(r.owed_vnd), String(r.owed_vnd)),
      row(t("memo"), r.payment_code, r.payment_code)),
    el("p", { class: "muted", role: "status" }, t("waiting")));
}

function render(r, byPlate) {
  const out = [];
  if (r.standing === "paid") {
    out.push(el("div", { class: "banner ok", role: "status" }, el("strong", {}, t("paid_title")),
      r.leave_by ? el("p", {}, t("leave_by") + " " + clock(r.leave_by)) : null));
  } else if (r.standing === "nothing_to_pay") {
    out.push(el("div", { class: "banner ok", role: "status" }, el("strong", {}, t("nothing_title")),
      el("p", {}, tr("how", r.how)),
      r.leave_by ? el("p", {}, t("leave_by") + " " + clock(r.leave_by)) : null));
  }
  const summary = el("dl", { class: "facts" });
  facts(summary, [
    [t("class"), tr("class", r.class)], [t("entered"), when(r.entered_at)], [t("as_of"), when(r.as_of)],
    [t("fee_so_far"), vnd(r.fee.amount)], [t("paid"), r.paid_vnd ? vnd(r.paid_vnd) : null],
    [t("left"), r.how === "transfer" ? vnd(r.owed_vnd) : null]]);
  out.push(el("section", { class: "card" }, summary, feeTable(r.fee), byPlate ? el("p", { class: "muted" }, t("plate_note")) : null));
  if (r.standing === "owing" && r.pay) out.push(payBox(r));
  $("owe-result").replaceChildren(...out);
}

async function lookUp(base, q, quiet) {
  stopPolling();
  asked = { base, q };
  if (!quiet) { $("owe-error").textContent = ""; }
  try {
    const r = await get(base + "/api/v1/public/stay?q=" + encodeURIComponent(q));
    $("owe-error").textContent = "";
    render(r, !/^PT1\.|^PK/i.test(q.trim()));
    if (r.standing === "owing" && location.hash.startsWith("#owe")) {
      polling = setTimeout(() => lookUp(base, q, true), POLL_MS);
    }
  } catch (e) {
    $("owe-error").textContent = errText(e);
    if (!quiet) $("owe-result").replaceChildren();
    // Lost the network while waiting: keep trying.
    if (quiet && e.code === "network") polling = setTimeout(() => lookUp(base, q, true), POLL_MS);
  }
}

// The lot a query belongs to: a ticket names it; otherwise the one chosen.
function baseFor(q, lots) {
  const m = /^PT1\.([a-z0-9_-]+)\./i.exec(q.trim());
  const named = m && lots.find((l) => l.id === m[1].toLowerCase());
  const chosen = lots.find((l) => l.id === $("owe-lot").value);
  return (named || chosen || lots[0]).base;
}

VIEWS.owe = async function (q) {
  try {
    const lots = lotsCache || (await allLots());
    const keep = $("owe-lot").value;
    $("owe-lot").replaceChildren(...lots.map((l) => el("option", { value: l.id }, l.name)));
    if (keep) $("owe-lot").value = keep;
    $("owe-lot-label").hidden = lots.length < 2;
    if (q) { $("owe-q").value = q; await lookUp(baseFor(q, lots), q); }
  } catch (e) {
    $("owe-error").textContent = errText(e);
  }
};

$("owe-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const q = $("owe-q").value.trim();
  if (!q) return;
  const lots = lotsCache || (await allLots());
  await lookUp(baseFor(q, lots), q);
});
window.addEventListener("hashchange", () => { if (!location.hash.startsWith("#owe")) stopPolling(); });

// Scanning the ticket's QR with the phone's camera, where the browser can.
let scanning = null;
async function stopScan() {
  if (scanning) scanning.getTracks().forEach((tr_) => tr_.stop());
  scanning = null;
  $("scan-video").hidden = true;
  $("scan").textContent = t("scan");
}
if ("BarcodeDetector" in window && navigator.mediaDevices) {
  $("scan").hidden = false;
  $("scan").addEventListener("click", async () => {
    if (scanning) return stopScan();
    try {
      const detector = new BarcodeDetector({ formats: ["qr_code"] });
      scanning = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      const video = $("scan-video");
      video.srcObject = scanning;
      video.hidden = false;
      await video.play();
      $("scan").textContent = t("scan_stop");
      const look = async () => {
        if (!scanning) return;
        const found = await detector.detect(video).catch(() => []);
        if (found.length) {
          $("owe-q").value = found[0].rawValue;
          await stopScan();
          $("owe-form").requestSubmit();
        } else setTimeout(look, 300);
      };
      look();
    } catch (_) {
      await stopScan();
      $("owe-error").textContent = t("err.scan");
    }
  });
}
