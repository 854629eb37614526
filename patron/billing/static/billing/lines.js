// "Add line" on the invoice form: a copy of the last (empty) row of the lines formset, with
// the next index and the formset's TOTAL_FORMS raised by one. Without script, saving offers
// a new empty row instead.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-add-line]");
  if (!button) return;
  const form = button.closest("form");
  const total = form.querySelector("input[name=lines-TOTAL_FORMS]");
  const rows = form.querySelectorAll("table.line-table tbody tr");
  const last = rows[rows.length - 1];
  const index = Number(total.value);
  const row = last.cloneNode(true);
  row.querySelectorAll("input").forEach((input) => {
    input.name = input.name.replace(/lines-\d+-/, `lines-${index}-`);
    input.id = input.id.replace(/lines-\d+-/, `lines-${index}-`);
    input.value = "";
  });
  row.querySelectorAll(".field-error").forEach((error) => error.remove());
  last.after(row);
  total.value = String(index + 1);
  row.querySelector("input")?.focus();
});

// Picking another account on the invoice form reloads the "Attention of" choices: the people
// at that account.
document.addEventListener("htmx:afterSettle", (event) => {
  const form = document.getElementById("invoice-form");
  const picker = event.target;
  if (!form || !picker || picker.id !== "picker-account" || !form.contains(picker)) return;
  const account = picker.querySelector("input[type=hidden][name=account]");
  const select = form.querySelector("select[name=contact]");
  if (!account || !select || !window.htmx) return;
  const url = `${form.dataset.contactsUrl}?account=${encodeURIComponent(account.value)}`;
  window.htmx.ajax("GET", url, { target: select, swap: "innerHTML" });
});
