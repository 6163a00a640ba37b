// A little behaviour on top of plain forms: pickers submit on change, snippets copy.
document.addEventListener("change", (event) => {
  const field = event.target;
  if (!field.matches("select[data-autosubmit]")) return;
  // A chosen preset period replaces a custom range.
  if (field.name === "period") field.form.querySelectorAll("input[type=date]").forEach((d) => (d.value = ""));
  field.form.requestSubmit();
});
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const text = document.getElementById(button.dataset.copy).textContent;
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch {
    button.textContent = "Select and copy by hand";
  }
});
