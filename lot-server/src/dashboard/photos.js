// Lane photos, for staff: the stay's entry photo beside the event's own
// (a held lane, a plate alarm), and a stay's photos in its detail. A
// photo still on its way from the lane is asked for again a few times.
"use strict";

const photoPairs = new Map(); // event id → {entry, now}

/// One photo with its caption, or a placeholder saying there is none.
function photoFigure(ref, label) {
  if (!ref) {
    return el("figure", { class: "photo none" },
      el("div", { class: "no-photo" }, t("no_photo")), el("figcaption", {}, t(label)));
  }
  const src = BASE + ref.url;
  return el("figure", { class: "photo" },
    el("a", { href: src, target: "_blank", rel: "noopener" },
      el("img", { src, alt: `${t(label)} · ${ref.gate} · ${when(ref.taken_ms)}`, loading: "lazy" })),
    el("figcaption", {}, `${t(label)} · ${ref.gate} · ${when(ref.taken_ms)}`));
}

/// The photos staff compare for `eventId`, filled in when they come.
function photoPair(eventId, tries = 0) {
  const box = el("div", { class: "photos", "aria-live": "polite" });
  const fill = (pair) => box.replaceChildren(photoFigure(pair.entry, "photo_entry"), photoFigure(pair.now, "photo_now"));
  const known = photoPairs.get(eventId);
  if (known) { fill(known); return box; }
  fill({ entry: null, now: null });
  api("GET", `/api/v1/events/${encodeURIComponent(eventId)}/photos`).then((pair) => {
    fill(pair);
    if (pair.now) photoPairs.set(eventId, pair);
    else if (tries < 5) setTimeout(() => box.replaceWith(photoPair(eventId, tries + 1)), 2000);
  }).catch((e) => box.replaceChildren(el("p", { class: "muted" }, errText(e))));
  return box;
}

/// The photos of a stay's events that have one, in order.
function stayPhotos(events) {
  const shown = events.filter((e) => e.photo);
  if (!shown.length) return el("p", { class: "muted" }, t("no_photo"));
  return el("div", { class: "photos" }, shown.map((e) =>
    photoFigure({ url: `/api/v1/photos/${encodeURIComponent(e.event_id)}`, gate: e.gate, taken_ms: e.at_ms }, `event.${e.kind}`)));
}

/// A plate alarm's photos, in their own dialog.
function showAlarmPhotos(x) {
  $("photo-what").textContent = `${trKind(x.kind)} · ${x.gate} · ${when(x.at_ms)}`;
  $("photo-body").replaceChildren(photoPair(x.event_id));
  $("photo-dialog").showModal();
}
$("photo-close").addEventListener("click", () => $("photo-dialog").close());
