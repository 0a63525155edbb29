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
// The to-do inbox's unread count in the top bar (identity's API; the page's session cookie)
const inboxCount = document.querySelector("[data-inbox-count]");
if (inboxCount) {
  fetch("/identity/api/v1/inbox/count", { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((r) => (r.ok ? r.json() : null))
    .then((c) => {
      if (c && c.unread > 0) { inboxCount.textContent = c.unread; inboxCount.hidden = false; }
    })
    .catch(() => {});
}
