// Waymark's small behaviours: draw Plotly figures, move focus after htmx swaps, and report
// requests that failed. Everything else is htmx attributes.
(function () {
  "use strict";

  function drawCharts(root) {
    if (!window.Plotly) return;
    const charts = root.querySelectorAll ? root.querySelectorAll("[data-plotly-figure]") : [];
    charts.forEach(function (chart) {
      const source = document.getElementById(chart.dataset.plotlyFigure);
      if (!source) return;
      const figure = JSON.parse(source.textContent);
      // Busy until Plotly has finished drawing (a redraw for its margins included): a click
      // before then would land on a chart still moving.
      chart.setAttribute("aria-busy", "true");
      window.Plotly.react(chart, figure.data, figure.layout, {
        displayModeBar: false,
        responsive: true,
      }).then(function () {
        chart.removeAttribute("aria-busy");
      });
      if (chart.dataset.cellUrl && !chart.dataset.clickBound) {
        // A heatmap: clicking a cell lists its risks.
        chart.dataset.clickBound = "1";
        chart.on("plotly_click", function (data) {
          const cell = data.points[0].customdata;
          const url = chart.dataset.cellUrl + "?likelihood=" + cell[0] + "&impact=" + cell[1];
          window.htmx.ajax("GET", url, { target: chart.dataset.cellTarget, swap: "outerHTML" });
        });
      }
    });
  }

  window.addEventListener("load", function () {
    drawCharts(document);
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    const root = event.detail.elt;
    drawCharts(root.parentNode || document);
    const wanted = root.querySelector && root.querySelector("[data-autofocus], [autofocus]");
    if (wanted) wanted.focus();
    else if (root.matches && root.matches(".editing")) {
      const first = root.querySelector("input:not([type=hidden]), select, textarea");
      if (first) first.focus();
    }
  });

  // Live status pages: a hidden poller ([data-live-poll]) asks every few seconds what
  // changed, sending the fingerprints of the fragments the page holds; the server answers
  // with out-of-band swaps of the changed ones only, or 204. A tab in the background does not
  // poll at all, and catches up as soon as it is shown again.
  document.body.addEventListener("htmx:confirm", function (event) {
    if (document.hidden && event.detail.elt.hasAttribute("data-live-poll")) {
      event.preventDefault();
    }
  });

  document.body.addEventListener("htmx:configRequest", function (event) {
    if (!event.detail.elt.hasAttribute("data-live-poll")) return;
    const held = [];
    document.querySelectorAll("[data-live-fp][id]").forEach(function (fragment) {
      held.push(fragment.id + ":" + fragment.dataset.liveFp);
    });
    event.detail.headers["X-Live-Fingerprints"] = held.join(",");
  });

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) return;
    document.querySelectorAll("[data-live-poll]").forEach(function (poller) {
      window.htmx.trigger(poller, "liveRefresh");
    });
  });

  document.body.addEventListener("htmx:oobAfterSwap", function (event) {
    drawCharts(event.target.parentNode || document);
  });

  // Escape in a row being edited cancels the edit: the row ([data-escape-cancels]) asks for
  // itself again through its hx-trigger="escape". (An htmx event filter would need eval, which
  // the Content-Security-Policy forbids.)
  document.body.addEventListener("keyup", function (event) {
    if (event.key !== "Escape" || !event.target.closest) return;
    const editing = event.target.closest("[data-escape-cancels]");
    if (editing) window.htmx.trigger(editing, "escape");
  });

  // A phase opened or collapsed (<details data-remember-open>) is remembered for the person:
  // its hx-trigger="toggle" posts whether it is open now. The browser also fires `toggle` when
  // it draws a phase open, which is no choice of theirs: only a change from the state the
  // server drew (data-open) is sent.
  function remembersOpen(element) {
    return element.matches && element.matches("details[data-remember-open]");
  }

  document.body.addEventListener("htmx:confirm", function (event) {
    const details = event.detail.elt;
    if (remembersOpen(details) && (details.dataset.open === "1") === details.open) {
      event.preventDefault();
    }
  });

  document.body.addEventListener("htmx:configRequest", function (event) {
    const details = event.detail.elt;
    if (!remembersOpen(details)) return;
    event.detail.parameters.expanded = details.open ? "1" : "0";
    details.dataset.open = details.open ? "1" : "0";
  });

  // Changing several checklist items at once: "select all of a phase", the count of the
  // selected items, and only the fields the chosen change needs. Without JavaScript every
  // field shows, and the select-all boxes (which could do nothing) stay hidden.
  function bulkForm() {
    return document.getElementById("plan-bulk");
  }

  function showBulkState() {
    const form = bulkForm();
    if (!form) return;
    const selected = document.querySelectorAll('input[name="items"][form="plan-bulk"]:checked');
    const count = form.querySelector("[data-bulk-count]");
    if (count) {
      count.textContent =
        selected.length === 1 ? "1 item selected:" : selected.length + " items selected:";
    }
    const action = form.querySelector('select[name="action"]').value;
    form.querySelectorAll("[data-bulk-for]").forEach(function (field) {
      field.hidden = field.dataset.bulkFor !== action;
    });
  }

  window.htmx.onLoad(function (root) {
    root.querySelectorAll("label.select-all[hidden]").forEach(function (label) {
      label.hidden = false;
    });
    showBulkState();
  });

  document.body.addEventListener("change", function (event) {
    const box = event.target;
    if (box.dataset && box.dataset.selectAll) {
      const list = document.getElementById(box.dataset.selectAll);
      list.querySelectorAll('input[name="items"]').forEach(function (item) {
        item.checked = box.checked;
      });
    }
    if (box.closest && (box.name === "items" || box.dataset.selectAll || box.closest("#plan-bulk"))) {
      showBulkState();
    }
  });

  // A row's menu (<details class="row-menu">) closes when the person clicks elsewhere or
  // presses Escape in it.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.row-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !event.target.closest) return;
    const menu = event.target.closest("details.row-menu[open]");
    if (!menu) return;
    menu.open = false;
    menu.querySelector("summary").focus();
  });

  // "Your settings": one click chooses the browser's own time zone, when the list has it and
  // it is not the one chosen already. Without JavaScript the button stays hidden.
  document.querySelectorAll("[data-browser-time-zone]").forEach(function (button) {
    const form = button.closest("form");
    const select = form && form.querySelector('select[name="time_zone"]');
    let zone = "";
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      return;
    }
    const known = select && Array.prototype.some.call(select.options, function (option) {
      return option.value === zone;
    });
    if (!zone || !known || select.value === zone) return;
    button.textContent = "Use this browser's time zone (" + zone + ")";
    button.hidden = false;
    button.addEventListener("click", function () {
      select.value = zone;
      form.requestSubmit();
    });
  });

  // Sent by the server (HX-Trigger-After-Settle) to say where keyboard focus belongs now.
  document.body.addEventListener("focusElement", function (event) {
    const element = document.getElementById(event.detail.id);
    if (element) element.focus();
  });

  // An error answered to htmx in plain text is a sentence for the user (core/error_pages.py).
  document.body.addEventListener("htmx:responseError", function (event) {
    const xhr = event.detail.xhr;
    const status = xhr.status;
    const said = (xhr.getResponseHeader("Content-Type") || "").indexOf("text/plain") === 0;
    const message = said && xhr.responseText.length <= 300
      ? xhr.responseText
      : status === 403
        ? "You may not change this."
        : status === 404
          ? "This no longer exists; reload the page."
          : "The server could not do that (" + status + "). Nothing was changed; try again.";
    showProblem(message);
  });

  document.body.addEventListener("htmx:sendError", function () {
    showProblem("The server did not answer. Nothing was changed; check the connection.");
  });

  // "Back" on the error pages: the browser's history when there is one, else the link's href.
  document.body.addEventListener("click", function (event) {
    const back = event.target.closest && event.target.closest("[data-history-back]");
    if (back && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });

  function showProblem(message) {
    let box = document.getElementById("request-problem");
    if (!box) {
      box = document.createElement("p");
      box.id = "request-problem";
      box.className = "problem";
      box.setAttribute("role", "alert");
      document.getElementById("main").prepend(box);
    }
    box.textContent = message;
  }
})();
