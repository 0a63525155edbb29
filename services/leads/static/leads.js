// Leads pages: tick-all in the card audit; CSV upload with progress polling.
(() => {
  const all = document.getElementById("ld-all");
  if (all) all.addEventListener("change", () => {
    document.querySelectorAll(".ld-pick").forEach((el) => { el.checked = all.checked; });
  });

  // Grading: the ticked signals choose the highest level they belong to (the consultant may still change it)
  const grade = document.getElementById("ld-grade");
  if (grade) {
    const note = document.getElementById("ld-suggest");
    const text = note.textContent;
    grade.addEventListener("change", (e) => {
      if (!e.target.matches("input[name=signals]")) return;
      const ticked = Array.from(grade.querySelectorAll("input[name=signals]:checked")).map((i) => i.dataset.level);
      const level = ["H", "A", "B", "C"].find((lv) => ticked.includes(lv));
      note.hidden = !level;
      if (!level) return;
      const radio = grade.querySelector(`input[name=level][value="${level}"]`);
      if (radio) radio.checked = true;
      note.textContent = text.replace("__LEVEL__", level);
    });
  }

  const form = document.getElementById("ld-import");
  if (!form) return;
  const t = document.getElementById("ld-i18n").dataset;
  const box = document.getElementById("ld-progress");
  const bar = box.querySelector("progress");
  const status = document.getElementById("ld-status");
  const errors = document.getElementById("ld-errors");
  const fmt = (s, vals) => s.replace(/%\((\w+)\)s/g, (_, k) => vals[k]);
  const reasons = JSON.parse(document.getElementById("ld-reasons").textContent)
    .map(([re, words]) => [new RegExp(re), words]);
  const inWords = (reason) => {
    for (const [re, words] of reasons) {
      const m = reason.match(re);
      if (m) return words.replace("{1}", m[1] || "");
    }
    return reason;
  };

  const show = (job) => {
    bar.value = job.size_bytes ? Math.round((100 * job.bytes_read) / job.size_bytes) : 0;
    if (job.status === "failed") { status.textContent = `${t.failed} ${job.message}`; return true; }
    if (job.status === "interrupted") { status.textContent = job.message; return true; }
    if (job.status === "queued") { status.textContent = t.queued; return false; }
    if (job.status !== "done") { status.textContent = fmt(t.running, { n: job.rows }); return false; }
    bar.value = 100;
    status.textContent = fmt(t.done, { rows: job.rows, ok: job.imported, dup: job.duplicates, bad: job.bad_rows })
      + (job.dry_run ? ` ${t.dry}` : "");
    errors.replaceChildren(...job.errors.map((e) => {
      const tr = document.createElement("tr");
      const a = document.createElement("td"); a.className = "num"; a.textContent = e.row;
      const b = document.createElement("td"); b.textContent = inWords(e.reason);
      tr.append(a, b); return tr;
    }));
    return true;
  };

  const poll = async (id) => {
    const r = await fetch(`/leads/api/v1/imports/${id}`, { credentials: "same-origin" });
    const job = await r.json();
    if (!show(job)) setTimeout(() => poll(id), 700);
  };

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = form.file.files[0];
    if (!file) return;
    box.hidden = false; errors.replaceChildren(); status.textContent = "…";
    const q = new URLSearchParams({ dry_run: form.dry_run.checked ? "true" : "false", filename: file.name });
    const r = await fetch(`/leads/api/v1/imports?${q}`, {
      method: "POST", body: file, credentials: "same-origin",
      headers: { "Content-Type": "text/csv", "X-CSRFToken": form.dataset.csrf },
    });
    const job = await r.json();
    if (!r.ok) { status.textContent = job.message || r.status; return; }
    poll(job.id);
  });
})();
