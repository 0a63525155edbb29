// Agent workbench: answer the questionnaire from the keyboard, keep the lease while on the call.
(function () {
  const form = document.getElementById("survey-form");
  const reached = document.getElementById("btn-reached");
  if (form) {
    const questions = Array.from(form.querySelectorAll("fieldset.cc-q"));
    let buffer = "";
    let timer = null;
    const focusQuestion = (i) => {
      const q = questions[i];
      if (!q) { if (reached) reached.focus(); return; }
      const input = q.querySelector("input:checked") || q.querySelector("input[data-shortcut], textarea");
      if (input) input.focus();
    };
    const pick = (q, key) => {
      const hit = Array.from(q.querySelectorAll("input[data-shortcut]")).find((i) => i.dataset.shortcut === key);
      if (!hit) return false;
      if (hit.type === "checkbox") hit.checked = !hit.checked; else hit.checked = true;
      hit.focus();
      return true;
    };
    // One key on question q: pick the answer it names and move on (NPS takes "10" as two keys).
    const answerKey = (q, key) => {
      const next = questions.indexOf(q) + 1;
      clearTimeout(timer);
      if (q.dataset.type === "nps" && /[0-9]/.test(key)) {
        buffer = (buffer + key).slice(-2);
        if (buffer === "10") { pick(q, "10"); buffer = ""; focusQuestion(next); return true; }
        if (!pick(q, key)) return false;
        if (key === "1") { timer = setTimeout(() => { buffer = ""; focusQuestion(next); }, 700); return true; }
        buffer = ""; focusQuestion(next); return true;
      }
      if (!pick(q, key.toLowerCase())) return false;
      if (q.dataset.type !== "multi") focusQuestion(next);
      return true;
    };
    form.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); if (reached) reached.click(); return; }
      const q = e.target.closest("fieldset.cc-q");
      if (!q || e.target.tagName === "TEXTAREA" || e.ctrlKey || e.altKey || e.metaKey || e.key.length !== 1) return;
      e.preventDefault();
      answerKey(q, e.key);
    });
    // The page opens with no answer field focused: N (the Next-task key, pressed by habit or twice) must not
    // answer question 1 with "no". It says the agent already holds a task and puts the focus on question 1,
    // where a second N does answer "no". Any other key of question 1 answers it straight away.
    const holding = document.getElementById("holding-note");
    document.addEventListener("keydown", (e) => {
      if (e.target !== document.body || e.ctrlKey || e.altKey || e.metaKey || e.key.length !== 1) return;
      if (e.key.toLowerCase() === "n") {
        e.preventDefault();
        if (holding) holding.hidden = false;
        focusQuestion(0);
        return;
      }
      const q = questions[0];
      if (q && !q.querySelector("input:checked") && answerKey(q, e.key)) e.preventDefault();
    });
  }
  // Esc leaves a field, so that the letter shortcuts of the page (R, A, B, ...) work again
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && document.activeElement && document.activeElement !== document.body) {
      document.activeElement.blur();
    }
  });
  // The number is to dial only while the agent holds the task: when the hold ends, the link goes.
  // (counted from the seconds the server says are left: the browser's clock may differ from the server's)
  const lease = document.getElementById("lease");
  let until = lease ? Date.now() + 1000 * Number(lease.dataset.secondsLeft) : NaN;
  const noNumber = () => {
    const dial = document.querySelector("a.cc-phone");
    if (dial) {
      const shown = document.createElement("span");
      shown.className = "cc-phone muted";
      shown.textContent = dial.dataset.masked || "";
      dial.replaceWith(shown);
    }
  };
  const holdGone = () => {
    noNumber();
    const note = document.getElementById("hold-gone");
    if (note) note.hidden = false;
  };
  // do-not-call may be set while the agent holds the task: the number goes as soon as the server says so
  const status = document.getElementById("status-url");
  if (status) {
    const check = setInterval(() => {
      fetch(status.dataset.url, { credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : null))
        .then((body) => {
          if (!body) return;
          if (!body.held) { clearInterval(check); holdGone(); return; }
          if (!body.callable) {
            clearInterval(check); noNumber();
            document.getElementById("do-not-call").hidden = false;
          }
        })
        .catch(() => {});
    }, 10 * 1000);
  }
  if (!Number.isNaN(until)) {
    const watch = setInterval(() => { if (Date.now() >= until) { clearInterval(watch); holdGone(); } }, 5000);
  }
  const renew = document.getElementById("renew-url");
  if (renew) {
    setInterval(() => {
      fetch(renew.dataset.url, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": renew.dataset.csrf } })
        .then((r) => (r.ok ? r.json() : null))
        .then((body) => { if (body && body.seconds_left) until = Date.now() + 1000 * body.seconds_left; else holdGone(); })
        .catch(() => {});
    }, 4 * 60 * 1000);
  }
  const next = document.getElementById("next-task");
  if (next) next.focus();
})();
