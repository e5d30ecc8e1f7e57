// The gates view: the live board (server-sent events), opening a barrier
// by hand with a reason and a note, deciding a vehicle a lane holds for a
// plate check, and the occupancy and revenue panels.
"use strict";

let lanes = {};
let source = null;
let panelsDue = null;

function startLive() {
  if (source) source.close();
  source = new EventSource(BASE + "/api/v1/live");
  source.onopen = () => { $("live-state").textContent = t("live_ok"); };
  source.onerror = () => { $("live-state").textContent = t("live_lost"); };
  source.onmessage = (m) => {
    let u;
    try { u = JSON.parse(m.data); } catch (_) { return; }
    if (u.type === "snapshot") { lanes = {}; for (const l of u.lanes) lanes[l.gate] = l; renderLanes(); laneChoices(); }
    else if (u.type === "lane") {
      const known = !!lanes[u.lane.gate];
      lanes[u.lane.gate] = u.lane;
      renderLane(u.lane);
      if (!known) laneChoices();
      // A car came or went: occupancy, revenue and alarms, at most once a second.
      if (u.lane.last_decision && !panelsDue) {
        panelsDue = setTimeout(() => { panelsDue = null; if (currentView === "gates") refreshPanels(); refreshAlarmCount(false); }, 1000);
      }
    }
    else if (u.type === "alarm") refreshAlarmCount(true);
    else if (u.type === "desk_read") onDeskRead(u);
  };
}

function stopLive() { if (source) { source.close(); source = null; } }

/// The lanes heard from, as choices of the stays' lane filter.
function laneChoices() {
  const sel = $("session-gate");
  const chosen = sel.value;
  sel.replaceChildren(el("option", { value: "", "data-t": "any" }, t("any")),
    ...Object.keys(lanes).sort().map((g) => el("option", { value: g }, g)));
  sel.value = chosen;
}

function renderLanes() {
  $("lanes").replaceChildren(...Object.values(lanes).sort((a, b) => a.gate.localeCompare(b.gate)).map(laneCard));
}
function renderLane(l) {
  const old = document.querySelector(`.lane[data-gate="${CSS.escape(l.gate)}"]`);
  if (old) old.replaceWith(laneCard(l)); else renderLanes();
}

/// What the lane decided last, in words.
function decisionText(d) {
  if (!d) return "—";
  let why = "";
  if (d.kind === "manual_open") why = `${tr("reason", d.reason)} — ${d.operator}: ${d.note}`;
  else if (d.kind === "denied") why = tr("deny", d.reason);
  else if (d.kind === "exit") why = tr("channel", d.reason);
  else if (d.kind === "alarm" || d.kind === "held") why = tr("alarm", d.reason);
  else if (d.kind === "hold_decided") why = `${tr("hold", d.reason)} — ${d.operator}: ${d.note}`;
  const owed = d.owed_vnd ? ` · ${t("owed")} ${vnd(d.owed_vnd)}` : "";
  return `${tr("decision", d.kind)}${why ? " (" + why + ")" : ""}${d.fee_vnd ? " " + vnd(d.fee_vnd) : ""}${owed} · ${when(d.at)}`;
}

function laneCard(l) {
  const read = l.last_read;
  const d = l.last_decision;
  const readText = read ? [read.credential && `${tr("credential", read.credential.kind)} ${read.credential.id || ""}`, read.plate, read.class && tr("class", read.class)].filter(Boolean).join(" · ") : "—";
  const card = el("article", { class: "lane", "data-gate": l.gate, "data-decision": d ? d.kind : "" },
    el("h2", {}, `${l.gate}${l.direction ? " · " + tr("direction", l.direction) : ""}`,
      el("span", { class: "badge " + (l.online ? "online" : "offline") }, t(l.online ? "online" : "offline"))),
    el("dl", { class: "kv" },
      el("dt", {}, t("barrier")), el("dd", { class: "barrier", "data-state": l.barrier || "" }, l.barrier ? tr("barrier", l.barrier) : "—"),
      el("dt", {}, t("last_read")), el("dd", { class: "last-read" }, readText),
      el("dt", {}, t("decision")), el("dd", { class: "decision decision-" + (d ? d.kind : "none") }, decisionText(d))));
  if (l.waiting) {
    card.append(el("div", { class: "waiting" },
      el("strong", {}, `${t("waiting")}: ${vnd(l.waiting.amount_vnd)}`),
      el("div", {}, (l.waiting.lines || []).join(" / ")),
      el("img", { alt: `VietQR ${vnd(l.waiting.amount_vnd)}`, src: BASE + "/api/v1/qr.svg?text=" + encodeURIComponent(l.waiting.vietqr) })));
  }
  const staff = me && me.role !== "tax_officer";
  if (l.held) card.append(heldPanel(l.gate, l.held, staff));
  if (staff) {
    card.append(el("button", { class: "open-button", type: "button", onclick: () => askOpen(l.gate) }, t("manual_open")));
  }
  return card;
}

/// A vehicle the lane holds: why, the plate it entered with and the plate
/// read now, side by side, and (for staff) both photos, release or refuse.
function heldPanel(gate, h, staff) {
  const cred = h.credential ? `${tr("credential", h.credential.kind)} ${h.credential.id || ""}` : "—";
  return el("div", { class: "held", role: "alert" },
    el("strong", {}, `${t("held")}: ${tr("alarm", h.alarm)}`),
    el("dl", { class: "kv plates" },
      el("dt", {}, t("credential")), el("dd", {}, cred),
      el("dt", {}, t("entered_plate")), el("dd", { class: "held-entered" }, h.entered || t("not_read")),
      el("dt", {}, t("seen_plate")), el("dd", { class: "held-seen" }, h.seen || t("not_read")),
      el("dt", {}, t("since")), el("dd", {}, when(h.since))),
    staff && h.event_id ? photoPair(h.event_id) : null,
    staff ? el("div", { class: "row" },
      el("button", { type: "button", class: "release-button", onclick: () => askHold(gate, true) }, t("hold.released")),
      el("button", { type: "button", class: "refuse-button", onclick: () => askHold(gate, false) }, t("hold.refused"))) : null);
}

// ---- a held vehicle decided -----------------------------------------------------
let hold = null;
function askHold(gate, release) {
  hold = { gate, release };
  $("hold-gate").textContent = gate;
  $("hold-what").textContent = t(release ? "hold.released" : "hold.refused");
  $("hold-note").value = "";
  $("hold-error").textContent = "";
  $("hold-dialog").showModal();
}
$("hold-cancel").addEventListener("click", () => $("hold-dialog").close());
$("hold-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const note = $("hold-note").value.trim();
  if (note.length < 3) { $("hold-error").textContent = t("err.note_short"); return; }
  try {
    await api("POST", `/api/v1/gates/${encodeURIComponent(hold.gate)}/hold`, { release: hold.release, note });
    $("hold-dialog").close();
    $("live-state").textContent = `${t("hold_sent")}: ${hold.gate}`;
  } catch (e) { $("hold-error").textContent = errText(e); }
});

// ---- manual open -------------------------------------------------------------
let openGate = null;
function askOpen(gate) {
  openGate = gate;
  $("open-gate").textContent = gate;
  $("open-reason").value = "";
  $("open-note").value = "";
  $("open-error").textContent = "";
  $("open-dialog").showModal();
}
$("open-cancel").addEventListener("click", () => $("open-dialog").close());
$("open-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const reason = $("open-reason").value;
  const note = $("open-note").value.trim();
  if (!reason || note.length < 3) { $("open-error").textContent = t("err.note_short"); return; }
  try {
    await api("POST", `/api/v1/gates/${encodeURIComponent(openGate)}/open`, { reason, note });
    $("open-dialog").close();
    $("live-state").textContent = `${t("sent")}: ${openGate}`;
  } catch (e) { $("open-error").textContent = errText(e); }
});

// ---- occupancy and revenue panels ---------------------------------------------
const SVG = "http://www.w3.org/2000/svg";
function svgEl(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function bars(values, labels, fmt) {
  const w = 480, h = 160, max = Math.max(1, ...values), bw = w / Math.max(1, values.length);
  const svg = svgEl("svg", { viewBox: `0 0 ${w} ${h + 30}`, role: "img", "aria-label": labels.map((l, i) => `${l}: ${fmt(values[i])}`).join("; ") });
  values.forEach((v, i) => {
    const bh = (v / max) * h;
    const r = svgEl("rect", { x: i * bw + 2, y: h - bh, width: Math.max(1, bw - 4), height: bh, fill: "#12355b" });
    r.append(svgEl("title", {}, `${labels[i]}: ${fmt(v)}`));
    svg.append(r);
    svg.append(svgEl("text", { x: i * bw + bw / 2, y: h + 14, "font-size": 11, "text-anchor": "middle" }, labels[i]));
    svg.append(svgEl("text", { x: i * bw + bw / 2, y: h + 27, "font-size": 10, "text-anchor": "middle" }, fmt(v)));
  });
  return svg;
}

const COLOURS = ["#12355b", "#2e7d32", "#c77700", "#8e24aa", "#00838f", "#6d4c41"];

/// Vehicles inside at the end of each hour, stacked by class, with a legend.
function stacked(byHour) {
  const classes = [...new Set(byHour.flatMap((h) => Object.keys(h.by_class)))].sort();
  const w = 480, h = 160, bw = w / 24;
  const max = Math.max(1, ...byHour.map((x) => Object.values(x.by_class).reduce((a, b) => a + b, 0)));
  const svg = svgEl("svg", { viewBox: `0 0 ${w} ${h + 16}`, role: "img", "aria-label": t("occupancy_day") });
  byHour.forEach((x, i) => {
    let y = h;
    classes.forEach((c, k) => {
      const n = x.by_class[c] || 0;
      if (!n) return;
      const bh = (n / max) * h;
      y -= bh;
      const r = svgEl("rect", { x: i * bw + 1, y, width: bw - 2, height: bh, fill: COLOURS[k % COLOURS.length] });
      r.append(svgEl("title", {}, `${x.hour + 1}:00 ${tr("class", c)}: ${n}`));
      svg.append(r);
    });
    if (i % 3 === 2) svg.append(svgEl("text", { x: i * bw + bw / 2, y: h + 13, "font-size": 11, "text-anchor": "middle" }, `${x.hour + 1}h`));
  });
  // Colours through the CSSOM: the page's CSP forbids inline style attributes.
  const swatch = (k) => { const i = el("i", {}); i.style.background = COLOURS[k % COLOURS.length]; return i; };
  const legend = el("div", { class: "legend" }, classes.map((c, k) => el("span", {}, swatch(k), tr("class", c))));
  return [svg, legend];
}

async function refreshPanels() {
  try {
    const occ = await api("GET", "/api/v1/occupancy");
    const now = Object.entries(occ.now);
    const spaces = occ.spaces || [];
    const free = (c) => spaces.find((s) => s.class === c);
    const line = ([c, n]) => {
      const s = free(c);
      return [el("dt", {}, tr("class", c)), el("dd", {}, s ? `${n} · ${t("free_of")} ${s.free}/${s.capacity}` : String(n))];
    };
    const rows = now.concat(spaces.filter((s) => !occ.now[s.class]).map((s) => [s.class, 0]));
    $("occ-now").replaceChildren(rows.length ? el("dl", { class: "kv" }, rows.map(line)) : el("p", { class: "muted" }, "0"));
    adjustable = spaces;
    $("adjust-open").hidden = !spaces.length || !me || me.role === "tax_officer";
    $("occ-day").replaceChildren(...stacked(occ.by_hour));
  } catch (e) { $("occ-now").textContent = errText(e); }
  try {
    const d = today();
    const rep = await api("GET", `/api/v1/reports/revenue?from=${d}&to=${d}`);
    const by = {};
    for (const r of rep.by_day) by[r.channel] = (by[r.channel] || 0) + r.total_vnd;
    const ch = Object.keys(by).sort();
    $("rev-today").replaceChildren(ch.length ? bars(ch.map((c) => by[c]), ch.map((c) => tr("channel", c)), vnd) : el("p", { class: "muted" }, t("no_rows")));
  } catch (e) { $("rev-today").textContent = errText(e); }
}
setInterval(() => { if (me && currentView === "gates") refreshPanels(); }, 15000);

// An operator's count of the vehicles inside, class by class.
let adjustable = [];
$("adjust-open").addEventListener("click", () => {
  $("adjust-class").replaceChildren(...adjustable.map((s) => el("option", { value: s.class }, tr("class", s.class))));
  $("adjust-inside").value = "";
  $("adjust-note").value = "";
  $("adjust-error").textContent = "";
  $("adjust-dialog").showModal();
});
$("adjust-class").addEventListener("change", () => {
  const s = adjustable.find((x) => x.class === $("adjust-class").value);
  if (s) $("adjust-inside").max = s.capacity;
});
$("adjust-cancel").addEventListener("click", () => $("adjust-dialog").close());
$("adjust-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = { class: $("adjust-class").value, inside: Number($("adjust-inside").value), note: $("adjust-note").value };
  try {
    await api("POST", "/api/v1/occupancy/adjust", body);
    $("adjust-dialog").close();
    refreshPanels();
  } catch (e) { $("adjust-error").textContent = errText(e); }
});
VIEWS.gates = () => { renderLanes(); refreshPanels(); };
