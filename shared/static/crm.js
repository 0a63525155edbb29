// Light behaviour shared by every page: auto-submitting filters, keyboard shortcuts declared in markup.
document.addEventListener("change", (e) => {
  const el = e.target;
  if (el.matches("[data-autosubmit]") && el.form) el.form.submit();
});
document.addEventListener("keydown", (e) => {
  if (e.target.matches("input, textarea, select") && e.key !== "Escape") {
    // a jump key typed in the very field it jumps to (/ in an autofocused search box) is not text
    if (e.target.dataset.key === e.key && !/^\w$/.test(e.key)) e.preventDefault();
    return;
  }
  const el = document.querySelector(`[data-key="${e.key}"]`);
  if (el) { e.preventDefault(); el.click(); el.focus(); }
});
