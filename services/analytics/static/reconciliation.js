// Figures reconciled: ask each source service (leads, callcenter, customers) for its own daily counts and
// analytics for the comparison, as the signed-in user (session cookie; the POSTs carry the page's CSRF
// token); show every drifting cell. The group admin rebuilds from the event log, or repairs from the sources
// (they publish the drifting days' facts again).
(function () {
  "use strict";
  const form = document.getElementById("reconcile");
  if (!form) return;
  const status = document.getElementById("reconcile-status");
  const table = document.getElementById("drift");
  const rebuild = document.getElementById("rebuild");
  const repair = document.getElementById("repair");
  let lastDrift = [];
  const labels = JSON.parse(document.getElementById("reconcile-labels").textContent);
  const post = (url, body) => fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": form.dataset.csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

  function cell(text, num) {
    const td = document.createElement("td");
    td.textContent = text;
    if (num) td.className = "num";
    return td;
  }

  function show(result) {
    const body = table.querySelector("tbody");
    body.replaceChildren();
    for (const r of result.drift) {
      const tr = document.createElement("tr");
      tr.dataset.drift = `${r.source}|${r.kpi}|${r.store_id}|${r.day}`;
      tr.append(cell(labels.sources[r.source] || r.source), cell(labels.kpis[r.kpi] || r.kpi),
                cell(labels.stores[r.store_id] || r.store_id), cell(r.day),
                cell(r.counted, true), cell(r.analytics, true), cell(r.diff > 0 ? `+${r.diff}` : r.diff, true));
      body.append(tr);
    }
    table.hidden = result.drift.length === 0;
    if (rebuild) rebuild.hidden = result.drift.length === 0;
    if (repair) repair.hidden = result.drift.length === 0;
    lastDrift = result.drift;
    status.dataset.state = result.drift.length ? "drift" : "ok";
    status.textContent = `${result.drift.length ? status.dataset.drift : status.dataset.ok} (${result.checked} ${status.dataset.checked})`;
  }

  async function reconcile() {
    const from = form.elements.from.value, to = form.elements.to.value;
    status.dataset.state = "checking";
    status.textContent = status.dataset.checking;
    try {
      const all = { drift: [], checked: 0 };
      for (const source of labels.list) {
        const counts = await fetch(`/${source}/api/v1/stats/daily?from=${from}&to=${to}`, { credentials: "same-origin" });
        if (!counts.ok) throw new Error(`${source} ${counts.status}`);
        const r = await post("/analytics/api/v1/reconciliation", { from, to, source, counts: await counts.json() });
        if (!r.ok) throw new Error(`analytics ${r.status}`);
        const one = await r.json();
        all.drift.push(...one.drift);
        all.checked += one.checked;
      }
      show(all);
    } catch (e) {
      status.dataset.state = "failed";
      status.textContent = `${status.dataset.failed} (${e.message})`;
    }
  }

  form.addEventListener("submit", (ev) => { ev.preventDefault(); reconcile(); });
  const under = document.getElementById("rebuild-under");
  if (under) {
    // a rebuild under the chosen version of the KPI definitions, which stays in force; the page then reloads
    under.addEventListener("click", async () => {
      under.disabled = true;
      const version = document.getElementById("definitions").value;
      const r = await post(`/analytics/api/v1/reconciliation/rebuild?definitions=${encodeURIComponent(version)}`);
      under.disabled = false;
      if (r.ok) window.location.reload();
    });
  }
  if (rebuild) {
    rebuild.addEventListener("click", async () => {
      rebuild.disabled = true;
      const r = await post("/analytics/api/v1/reconciliation/rebuild");
      rebuild.disabled = false;
      if (r.ok) await reconcile();
    });
  }
  if (repair) {
    // repair from the sources: each source with drift publishes the facts of the drifting days and stores
    // again; analytics takes what it lacked, rebuilds and compares (a run with the request's id); then the
    // page compares again
    repair.addEventListener("click", async () => {
      repair.disabled = true;
      status.dataset.state = "repairing";
      status.textContent = status.dataset.repairing;
      try {
        const asked = {};
        for (const source of labels.list) {
          const rows = lastDrift.filter((r) => r.source === source);
          if (!rows.length) continue;
          const days = rows.map((r) => r.day).sort();
          const r = await post("/analytics/api/v1/reconciliation/replay", {
            source, from: days[0], to: days[days.length - 1], store_ids: [...new Set(rows.map((x) => x.store_id))] });
          if (!r.ok) throw new Error(`analytics ${r.status}`);
          asked[source] = (await r.json()).request_id;
        }
        const deadline = Date.now() + 120000;
        for (const [source, id] of Object.entries(asked)) {
          for (;;) {  // the comparison that follows the source's replay
            const r = await fetch(`/analytics/api/v1/reconciliation/runs?request_id=${encodeURIComponent(id)}`,
                                  { credentials: "same-origin" });
            if (!r.ok) throw new Error(`analytics ${r.status}`);
            if ((await r.json()).some((x) => x.source === source)) break;
            if (Date.now() > deadline) throw new Error("timeout");
            await new Promise((done) => setTimeout(done, 1000));
          }
        }
        await reconcile();
        if (status.dataset.state === "ok") status.textContent = `${status.dataset.repaired} ${status.textContent}`;
      } catch (e) {
        status.dataset.state = "failed";
        status.textContent = `${status.dataset.failed} (${e.message})`;
      } finally {
        repair.disabled = false;
      }
    });
  }
  reconcile();
})();
