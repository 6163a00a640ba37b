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
// Speed-to-lead clocks tick in the page: minutes and seconds since the hand-raise.
const clocks = document.querySelectorAll("[data-since]");
if (clocks.length) {
  const tick = () => {
    const now = Date.now() / 1000;
    clocks.forEach((clock) => {
      const seconds = Math.max(0, Math.floor(now - Number(clock.dataset.since)));
      const late = seconds > Number(clock.dataset.limit || 300);
      const minutes = Math.floor(seconds / 60);
      const shown = minutes < 60 ? `${minutes}:${String(seconds % 60).padStart(2, "0")}`
        : `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
      clock.textContent = shown + (late ? " late" : "");
      clock.classList.toggle("late", late);
    });
  };
  tick();
  setInterval(tick, 1000);
}
