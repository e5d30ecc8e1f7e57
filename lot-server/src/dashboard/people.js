// The people view (admins): accounts people sign in with; create one,
// disable or enable it, reset its password. A generated password is shown
// once, in a dialog.
"use strict";

function showPassword(user, password) {
  $("password-who").textContent = `${user.display_name} (${user.username})`;
  $("password-shown").textContent = password;
  $("password-dialog").showModal();
}
$("password-close").addEventListener("click", () => { $("password-shown").textContent = ""; $("password-dialog").close(); });

$("user-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("user-error").textContent = "";
  const body = { username: $("new-username").value.trim(), display_name: $("new-name").value.trim(), role: $("new-role").value };
  if ($("new-password").value) body.password = $("new-password").value;
  try {
    const made = await api("POST", "/api/v1/users", body);
    for (const id of ["new-username", "new-name", "new-password"]) $(id).value = "";
    if (made.generated_password) showPassword(made.user, made.generated_password);
    loadPeople();
  } catch (e) { $("user-error").textContent = errText(e); }
});

async function userAction(u, what) {
  $("user-error").textContent = "";
  if (what === "disable" && !confirm(t("confirm_disable"))) return;
  try {
    const done = await api("POST", `/api/v1/users/${encodeURIComponent(u.username)}/${what}`, what === "password" ? {} : undefined);
    if (done && done.generated_password) showPassword(done.user, done.generated_password);
  } catch (e) { $("user-error").textContent = errText(e); }
  loadPeople();
}

async function loadPeople() {
  let rows;
  try { rows = await api("GET", "/api/v1/users"); } catch (e) { $("user-rows").replaceChildren(emptyRow(5, errText(e), "error")); return; }
  $("user-rows").replaceChildren(...(rows.length ? rows.map((u) => el("tr", { class: "user-row", "data-username": u.username },
    el("td", {}, u.username), el("td", {}, u.display_name), el("td", {}, tr("role", u.role)),
    el("td", { class: "state" }, t(u.disabled_ms ? "disabled" : "active")),
    el("td", { class: "actions" },
      el("button", { type: "button", class: u.disabled_ms ? "enable" : "disable", onclick: () => userAction(u, u.disabled_ms ? "enable" : "disable") }, t(u.disabled_ms ? "enable" : "disable")),
      el("button", { type: "button", class: "reset", onclick: () => userAction(u, "password") }, t("reset_password"))))) : [emptyRow(5)]));
}
VIEWS.people = loadPeople;
