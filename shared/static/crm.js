// Light behaviour shared by every page: auto-submitting filters, keyboard shortcuts declared in markup.
document.addEventListener("change", (e) => {
  const el = e.target;
  if (el.matches("[data-autosubmit]") && el.form) el.form.submit();
});
document.addEventListener("keydown", (e) => {
  if (e.target.matches("input, textarea, select") && e.key !== "Escape") return;
  const el = document.querySelector(`[data-key="${e.key}"]`);
  if (el) { e.preventDefault(); el.click(); el.focus(); }
});
