// The alarms view: exceptions to acknowledge and resolve with a note, and
// the live count on the tab and in the page's title, with an optional
// sound when a new one arrives.
"use strict";

let alarmCount = 0;

/// Counts the exceptions no one has taken yet; `chime` when one is new.
async function refreshAlarmCount(chime) {
  if (!me) return;
  let rows;
  try { rows = await api("GET", "/api/v1/exceptions?state=open&limit=1000"); } catch (_) { return; }
  const before = alarmCount;
  alarmCount = rows.length;
  showAlarmCount();
  if (chime && alarmCount > before && $("alarm-sound").checked) beep();
  if (currentView === "alarms") loadAlarms();
}

function showAlarmCount() {
  const badge = $("alarm-count");
  badge.hidden = alarmCount === 0;
  badge.textContent = String(alarmCount);
  badge.setAttribute("aria-label", `${alarmCount} ${t("open")}`);
  document.title = (alarmCount ? `(${alarmCount}) ` : "") + t("title");
}

/// A short two-tone chime (WebAudio; no file to fetch).
function beep() {
  try {
    const ctx = new (window.AudioContext || window.webkitAudioContext)();
    [880, 660].forEach((f, i) => {
      const o = ctx.createOscillator(), g = ctx.createGain();
      o.frequency.value = f; g.gain.value = 0.15;
      o.connect(g); g.connect(ctx.destination);
      o.start(ctx.currentTime + i * 0.18); o.stop(ctx.currentTime + i * 0.18 + 0.15);
    });
  } catch (_) { /* no audio: the badge still shows */ }
}

$("alarm-sound").checked = localStorage.getItem("alarm-sound") === "1";
$("alarm-sound").addEventListener("change", () => localStorage.setItem("alarm-sound", $("alarm-sound").checked ? "1" : "0"));
$("show-resolved").addEventListener("change", () => loadAlarms());
setInterval(() => refreshAlarmCount(true), 30000);

function alarmState(x) {
  if (x.state === "open") return t("open");
  if (x.state === "acknowledged") return `${t("acknowledged")}: ${x.acknowledged_by || ""}`;
  return `${t("resolved")}: ${x.resolved_by || ""} — ${x.resolution || ""}`;
}

/// An exception's (or a mismatch's) detail in the page's language. A
/// manual open's and a refusal's are the person's note and codes, put in
/// words; other kinds' are the server's sentences, of which only the
/// identifiers are shown (EPCs, plates, codes, amounts), the kind itself
/// saying what happened.
function alarmDetail(x) {
  const d = String(x.detail || "");
  if (x.kind === "manual_open" || x.kind === "denied") {
    return d.replace(/\b(tag|ticket|plate):/g, (_, k) => `${tr("credential", k)} `)
      .replace(/\b[a-z]+(?:_[a-z]+)+\b|\b[a-z]+\b/g, (w) => (T.vi[`reason.${w}`] ? tr("reason", w) : T.vi[`deny.${w}`] ? tr("deny", w) : w));
  }
  const ids = d.match(/\b[0-9A-F]{8,}\b|\b\d{2}[A-Z]{1,2}\d?-?\d{3,5}(?:\.\d{2})?\b|\b[A-Z]{2}[0-9A-Z]{7}\b|\b\d{1,3}(?:[.,]\d{3})+\b|\b\d{4,}\b/g) || [];
  return [...new Set(ids)].join(" · ") || "—";
}

async function act(path, body) {
  try { await api("POST", path, body); } catch (e) { $("live-state").textContent = errText(e); }
  refreshAlarmCount(false);
  loadAlarms();
}

async function loadAlarms() {
  const state = $("show-resolved").checked ? "all" : "unresolved";
  let rows;
  try { rows = await api("GET", `/api/v1/exceptions?state=${state}&limit=200`); }
  catch (e) { $("alarm-rows").replaceChildren(emptyRow(6, errText(e), "error")); return; }
  const ops = me && me.role !== "tax_officer";
  $("alarm-rows").replaceChildren(...(rows.length ? rows.map((x) => {
    const id = encodeURIComponent(x.exception_id);
    const photos = ops && /^alarm:(plate_mismatch|tag_on_other_vehicle)$/.test(x.kind)
      ? el("button", { type: "button", class: "photos-button", onclick: () => showAlarmPhotos(x) }, t("photos")) : null;
    const buttons = !ops || x.state === "resolved" ? [photos] : [photos,
      x.state === "open" ? el("button", { type: "button", class: "ack", onclick: () => act(`/api/v1/exceptions/${id}/acknowledge`) }, t("acknowledge")) : null,
      el("button", { type: "button", class: "resolve", onclick: async () => {
        const note = await askNote(`${t("resolve")}: ${trKind(x.kind)}`, 1);
        if (note) act(`/api/v1/exceptions/${id}/resolve`, { note });
      } }, t("resolve")),
    ];
    return el("tr", { class: "alarm-row", "data-kind": x.kind, "data-state": x.state },
      el("td", {}, when(x.at_ms)), el("td", {}, x.gate), el("td", { class: "kind" }, trKind(x.kind)), el("td", {}, alarmDetail(x)),
      el("td", { class: "state" }, alarmState(x)), el("td", { class: "actions" }, buttons));
  }) : [emptyRow(6)]));
}
VIEWS.alarms = loadAlarms;
