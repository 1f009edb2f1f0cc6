/*
 * babe review's page: the queue on the left, one submission's data on the right, decisions that
 * go through the server's preview → confirmation → decide so nothing is paid without an OK.
 *
 * Plain JavaScript with no build step and no third-party code, because the page must work offline
 * under a CSP that allows only this file. Every value from the server reaches the DOM through
 * textContent / setAttribute (never innerHTML): worker answers and backend cells are data typed by
 * strangers.
 */
(function () {
  "use strict";

  /** Rows fetched per request: a queue of thousands must open as fast as one of ten. */
  const PAGE = 50;
  /** Moving within this many rows of the end fetches the next page before the reviewer gets there. */
  const NEAR_END = 5;
  /** Scrolling within this many pixels of the list's end fetches the next page. */
  const NEAR_BOTTOM = 240;
  const SVG = "http://www.w3.org/2000/svg";

  const $ = (id) => document.getElementById(id);
  const meta = (name) => {
    const element = document.querySelector(`meta[name="${name}"]`);
    return element ? element.getAttribute("content") : "";
  };

  // The token is in the page's own URL; the meta copy covers a page reloaded without it.
  const TOKEN = new URLSearchParams(location.search).get("token") || meta("babe-token");
  const CSRF = meta("babe-csrf");

  const state = {
    summary: null,
    filter: "awaiting",
    items: [], // loaded rows, in the server's order
    byId: new Map(), // assignment_id → item
    rows: new Map(), // assignment_id → li
    total: 0,
    loading: null, // the page request in flight, so scrolling does not ask twice
    generation: 0, // bumped when the list restarts, so a late page of the old list is dropped
    current: -1,
    selected: new Set(),
    pending: null, // the decision being asked for in the form: {action, ids}
    confirmation: null, // the server's preview waiting for OK
    busy: false,
    detailRequest: null,
    plotted: null, // the shown plot's reaction times and width, to draw it again on a resize
    lastReason: "",
  };

  // -- talking to the server -------------------------------------------------------------------
  class ApiError extends Error {}

  /** One API call; a refusal comes back as the server's one-line `error`, never a page of HTML. */
  async function api(method, path, body, signal) {
    const headers = { "X-Babe-Token": TOKEN, Accept: "application/json" };
    const init = { method, headers, signal, cache: "no-store", credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["X-Babe-CSRF"] = CSRF;
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError("The review server does not answer: is `babe review` still running?");
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null; // a 403 is a short text body on purpose
    }
    if (!response.ok || data === null || (data && typeof data.error === "string")) {
      const why = data && typeof data.error === "string" ? data.error : `${response.status} ${response.statusText}`.trim();
      throw new ApiError(response.status === 403 && !(data && data.error) ? `Refused (${why}): open the URL babe review printed` : why);
    }
    return data;
  }

  // -- formatting --------------------------------------------------------------------------------
  const symbol = () => (state.summary && state.summary.symbol) || "";
  const money = (value) => (value === null || value === undefined ? "—" : `${symbol()}${value}`);

  /** "4m 12s": what a reviewer compares against the study's estimated minutes. */
  function duration(seconds) {
    if (seconds === null || seconds === undefined || !isFinite(seconds)) return "—";
    let s = Math.max(0, Math.round(Number(seconds)));
    const h = Math.floor(s / 3600);
    s -= h * 3600;
    const m = Math.floor(s / 60);
    s -= m * 60;
    if (h) return `${h}h ${m}m ${s}s`;
    if (m) return `${m}m ${s}s`;
    return `${s}s`;
  }

  const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
  function when(iso) {
    if (!iso) return "—";
    const date = new Date(iso);
    return isNaN(date.getTime()) ? String(iso) : timeFormat.format(date);
  }

  const ms = (value) => `${Math.round(value).toLocaleString("en")} ms`;
  const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

  /** An element with a class and text: the only way data enters the page. */
  function el(tag, className, text) {
    const element = document.createElement(tag);
    if (className) element.className = className;
    if (text !== undefined && text !== null) element.textContent = String(text);
    return element;
  }

  function svg(tag, attributes, text) {
    const element = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes || {})) element.setAttribute(name, String(value));
    if (text !== undefined) element.textContent = String(text);
    return element;
  }

  // -- the status area ---------------------------------------------------------------------------
  /** The last answer: what the platform did, or why nothing happened (in red). */
  function say(message, { error = false, lines = [] } = {}) {
    const answer = $("answer");
    answer.replaceChildren();
    answer.classList.toggle("error", error);
    answer.appendChild(el("span", "message", message));
    if (lines.length) {
      const list = el("ul", "lines");
      for (const line of lines) list.appendChild(el("li", "", line));
      answer.appendChild(list);
    }
  }

  // -- the header --------------------------------------------------------------------------------
  function showSummary(summary) {
    state.summary = summary;
    $("experiment").textContent = summary.experiment;
    document.title = `Review: ${summary.experiment}`;
    $("platform").textContent = summary.platform;
    $("target").textContent = summary.target;
    $("live").hidden = !summary.live;
    $("confirm-live").hidden = !summary.live;
    document.body.classList.toggle("is-live", Boolean(summary.live));
    const counts = summary.counts || {};
    const parts = [`${counts.awaiting ?? 0} awaiting a decision`];
    if (counts.held) parts.push(`${counts.held} held back`);
    parts.push(`${counts.decided ?? 0} decided`);
    $("counts").textContent = parts.join(" · ");

    const warnings = $("warnings");
    warnings.replaceChildren(...(summary.warnings || []).map((w) => el("li", "", w)));
    warnings.hidden = !warnings.children.length;

    const category = $("category");
    const categories = summary.rejection_categories || [];
    const chosen = category.value;
    category.replaceChildren(el("option", "", "(the study's default)"));
    category.firstChild.value = "";
    for (const name of categories) {
      const option = el("option", "", name);
      option.value = name;
      category.appendChild(option);
    }
    if (categories.includes(chosen)) category.value = chosen;
    $("category").hidden = $("category-label").hidden = !categories.length;
    $("reason").setAttribute("maxlength", String(summary.reason_max || 1024));
    $("bonus-symbol").textContent = summary.symbol || summary.currency || "";
  }

  // -- the queue ---------------------------------------------------------------------------------
  const awaiting = (item) => item.status === "Submitted";
  /** Loaded rows the server still counts under the filter: decided ones leave "awaiting" server-side. */
  const stillListed = () => (state.filter === "all" ? state.items.length : state.items.filter(awaiting).length);
  const hasMore = () => stillListed() < state.total;

  /** Fetches the next page (at most one request at a time) and appends its rows. */
  function loadMore() {
    if (state.loading) return state.loading;
    const generation = state.generation;
    const query = new URLSearchParams({ offset: String(stillListed()), limit: String(PAGE), filter: state.filter });
    state.loading = api("GET", `/api/submissions?${query}`)
      .then((page) => {
        if (generation !== state.generation) return;
        state.total = page.total;
        for (const item of page.items) {
          if (state.byId.has(item.assignment_id)) continue; // the queue moved under us: already shown
          state.items.push(item);
          state.byId.set(item.assignment_id, item);
          const row = buildRow(item, state.items.length - 1);
          state.rows.set(item.assignment_id, row);
          $("queue").appendChild(row);
        }
        showQueueEnd();
      })
      .catch((error) => {
        if (generation === state.generation) say(error.message, { error: true });
      })
      .finally(() => {
        if (generation === state.generation) state.loading = null;
      });
    return state.loading;
  }

  function showQueueEnd() {
    const end = $("queue-end");
    if (!state.items.length) {
      end.textContent =
        state.filter === "awaiting"
          ? "Nothing awaits a decision. Choose “all submissions” (press /) to bonus a decided one."
          : "No submissions yet.";
    } else if (hasMore()) {
      end.textContent = `${state.items.length} shown of ${state.total}: scroll for more`;
    } else {
      end.textContent = plural(state.items.length, "submission", "submissions");
    }
  }

  /** Starts the list again (filter changed, queue refreshed), keeping the current one when it comes back. */
  async function restartList(keep) {
    state.generation += 1;
    state.loading = null;
    state.items = [];
    state.byId.clear();
    state.rows.clear();
    state.selected.clear();
    state.current = -1;
    state.total = 0;
    $("queue").replaceChildren();
    $("queue").removeAttribute("aria-activedescendant");
    showSelection();
    await loadMore();
    const index = keep && state.byId.has(keep) ? state.items.indexOf(state.byId.get(keep)) : 0;
    setCurrent(state.items.length ? index : -1);
  }

  function buildRow(item, index) {
    const row = el("li", "submission");
    row.id = `row-${state.generation}-${index}`;
    row.setAttribute("role", "option");
    row.dataset.id = item.assignment_id;
    const box = el("input", "select");
    box.type = "checkbox";
    box.tabIndex = -1; // the keyboard selects with x; hundreds of tab stops would only be in the way
    box.setAttribute("aria-label", `select ${item.worker_id}`);
    row.appendChild(box);
    const who = el("span", "who");
    who.appendChild(el("span", "worker", item.worker_id));
    who.appendChild(el("span", "aid", item.assignment_id));
    row.appendChild(who);
    row.appendChild(el("span", "num taken"));
    row.appendChild(el("span", "num pay"));
    row.appendChild(el("span", "flags"));
    fillRow(row, item);
    return row;
  }

  /** Everything on a row that a decision can change. */
  function fillRow(row, item) {
    row.dataset.status = item.status;
    const selected = state.selected.has(item.assignment_id);
    row.classList.toggle("selected", selected);
    row.classList.toggle("decided", !awaiting(item));
    row.setAttribute("aria-selected", String(selected));
    row.querySelector("input.select").checked = selected;
    row.querySelector(".taken").textContent = duration(item.seconds_taken);
    const pay = row.querySelector(".pay");
    pay.textContent = item.pay_per_hour === null || item.pay_per_hour === undefined ? "—" : `${money(item.pay_per_hour)}/h`;
    pay.title = "pay per hour";
    const flags = row.querySelector(".flags");
    flags.replaceChildren(el("span", `badge status ${item.status.toLowerCase()}`, item.status));
    if (item.holds && item.holds.length && awaiting(item)) {
      const held = el("span", "badge hold", "held");
      held.title = item.holds.join("; ");
      flags.appendChild(held);
    }
    if (item.checks && item.checks.failed) flags.appendChild(el("span", "badge failed", `${item.checks.failed} failed`));
    // "no data" only means something when a data source is configured at all.
    const sources = state.summary && state.summary.data_sources ? state.summary.data_sources.length : 0;
    if (item.has_data === false && sources) flags.appendChild(el("span", "badge nodata", "no data"));
    if (bonusPaid(item)) flags.appendChild(el("span", "badge bonused", `bonus ${money(item.bonus_paid)}`));
  }

  // The ledger's paid bonuses of a submission (amounts without fees), so nobody pays a second by mistake.
  function bonusPaid(item) {
    return item.bonus_paid !== undefined && item.bonus_paid !== null && Number(item.bonus_paid) > 0;
  }

  function refreshRow(id) {
    const row = state.rows.get(id);
    if (row) fillRow(row, state.byId.get(id));
  }

  const currentItem = () => (state.current >= 0 ? state.items[state.current] : null);

  function setCurrent(index) {
    const before = currentItem();
    if (before && state.rows.get(before.assignment_id)) state.rows.get(before.assignment_id).classList.remove("current");
    state.current = index;
    const item = currentItem();
    showSelection();
    if (!item) {
      showEmptyDetail();
      return;
    }
    const row = state.rows.get(item.assignment_id);
    row.classList.add("current");
    $("queue").setAttribute("aria-activedescendant", row.id);
    reveal(row);
    showDetail(item);
    if (state.items.length - index <= NEAR_END && hasMore()) loadMore();
  }

  /**
   * Scrolls the list pane (only it: scrollIntoView would also scroll a phone's whole page away from
   * the buttons) so the row is in view.
   */
  function reveal(row) {
    const pane = $("queue").parentElement;
    const top = row.offsetTop;
    const bottom = top + row.offsetHeight;
    if (top < pane.scrollTop) pane.scrollTop = top;
    else if (bottom > pane.scrollTop + pane.clientHeight) pane.scrollTop = bottom - pane.clientHeight;
  }

  async function move(step) {
    if (!state.items.length) return;
    let index = state.current + step;
    if (index >= state.items.length && hasMore()) await loadMore();
    index = Math.max(0, Math.min(state.items.length - 1, index));
    if (index !== state.current) setCurrent(index);
  }

  function nearBottom() {
    const pane = $("queue").parentElement;
    return pane.scrollHeight - pane.scrollTop - pane.clientHeight < NEAR_BOTTOM;
  }

  // -- selection -----------------------------------------------------------------------------------
  function toggle(id) {
    if (state.selected.has(id)) state.selected.delete(id);
    else state.selected.add(id);
    refreshRow(id);
    showSelection();
  }

  /** X: every loaded submission awaiting a decision, or none when they all are already. */
  function toggleAll() {
    const candidates = state.items.filter(awaiting).map((item) => item.assignment_id);
    const all = candidates.length > 0 && candidates.every((id) => state.selected.has(id));
    const touched = new Set([...state.selected, ...candidates]);
    state.selected.clear();
    if (!all) candidates.forEach((id) => state.selected.add(id));
    touched.forEach(refreshRow);
    showSelection();
  }

  function clearSelection() {
    const touched = [...state.selected];
    state.selected.clear();
    touched.forEach(refreshRow);
    showSelection();
  }

  /** The decision's subjects: the selection when there is one, else the submission shown. */
  function targets() {
    if (state.selected.size) return state.items.map((i) => i.assignment_id).filter((id) => state.selected.has(id));
    const item = currentItem();
    return item ? [item.assignment_id] : [];
  }

  function showSelection() {
    const n = state.selected.size;
    $("selection").textContent = n ? `${n} selected: the buttons act on them (X clears)` : "";
    const none = targets().length === 0;
    for (const id of ["approve", "reject", "bonus"]) $(id).disabled = none || state.busy;
  }

  // -- the detail ----------------------------------------------------------------------------------
  function showEmptyDetail() {
    const detail = $("detail");
    detail.removeAttribute("data-id");
    detail.replaceChildren(el("p", "muted placeholder", state.items.length ? "" : "No submission to show."));
  }

  /** Shows what the list knows at once, then the participant's data when it arrives (latest wins). */
  async function showDetail(item) {
    if (state.detailRequest) state.detailRequest.abort();
    const request = new AbortController();
    state.detailRequest = request;
    renderDetail(item, null);
    try {
      const full = await api("GET", `/api/submissions/${encodeURIComponent(item.assignment_id)}`, undefined, request.signal);
      if (state.detailRequest === request) renderDetail(full, full);
    } catch (error) {
      if (error.name === "AbortError" || state.detailRequest !== request) return;
      const detail = $("detail");
      detail.removeAttribute("aria-busy");
      detail.querySelector(".data-slot").replaceChildren(el("p", "error", `The data could not be loaded: ${error.message}`));
    }
  }

  function renderDetail(item, full) {
    const detail = $("detail");
    detail.replaceChildren();
    detail.setAttribute("aria-busy", full ? "false" : "true");
    if (full) detail.dataset.id = item.assignment_id;
    else detail.removeAttribute("data-id");

    const head = el("div", "detail-head");
    const title = el("h2", "", item.assignment_id);
    title.id = "detail-id";
    head.appendChild(title);
    head.appendChild(el("span", `badge status ${item.status.toLowerCase()}`, item.status));
    if (bonusPaid(item)) head.appendChild(el("span", "badge bonused", `bonus ${money(item.bonus_paid)} paid`));
    detail.appendChild(head);

    const facts = el("dl", "facts");
    const fact = (name, value, numeric) => {
      facts.appendChild(el("dt", "", name));
      facts.appendChild(el("dd", numeric ? "num" : "", value));
    };
    fact("Worker", item.worker_id);
    const noun = state.summary && state.summary.nouns ? String(state.summary.nouns[0]) : "HIT";
    fact(noun.charAt(0).toUpperCase() + noun.slice(1), item.hit_id);
    fact("Accepted", when(item.accept_time));
    fact("Submitted", when(item.submit_time));
    fact("Time taken", duration(item.seconds_taken), true);
    fact("Reward", money(item.reward), true);
    fact("Pay per hour", item.pay_per_hour === null || item.pay_per_hour === undefined ? "—" : `${money(item.pay_per_hour)}/h`, true);
    detail.appendChild(facts);

    if (item.holds && item.holds.length) {
      const holds = el("section", "holds");
      holds.appendChild(el("h3", "", awaiting(item) ? "Held back: approve leaves this one waiting" : "Held back"));
      const list = el("ul");
      item.holds.forEach((reason) => list.appendChild(el("li", "", reason)));
      holds.appendChild(list);
      detail.appendChild(holds);
    }

    const slot = el("div", "data-slot");
    detail.appendChild(slot);
    if (!full) {
      if (item.checks) slot.appendChild(checksBlock(item.checks));
      slot.appendChild(el("p", "muted", "Loading the participant's data…"));
      return;
    }
    const sources = full.data || [];
    const times = sources.flatMap((source) => source.reaction_times || []).filter((v) => typeof v === "number" && isFinite(v));
    // Drawn at the width it is shown at, so its 12 px labels stay 12 px on a phone.
    const width = plotWidth(slot);
    if (times.length) slot.appendChild(plotBlock(times, state.summary ? state.summary.group : null, width));
    state.plotted = times.length ? { times, width } : null;
    sources.forEach((source) => {
      if (source.checks) slot.appendChild(checksBlock(source.checks, source.source));
    });
    if (!sources.length && item.checks) slot.appendChild(checksBlock(item.checks));
    if (full.answer && Object.keys(full.answer).length) slot.appendChild(answerBlock(full.answer));
    sources.forEach((source) => slot.appendChild(sourceBlock(source)));
    if (!sources.length) {
      const configured = state.summary && state.summary.data_sources && state.summary.data_sources.length;
      slot.appendChild(
        el("p", "muted", configured ? "No rows for this submission in the data sources." : "No data source is configured (the babe-backend plugin shows the participant's rows)."),
      );
    }
  }

  function checksBlock(checks, source) {
    const block = el("section", checks.failed ? "checks failed" : "checks passed");
    const heading = `Attention checks${source ? ` (${source})` : ""}: ${checks.passed} passed, ${checks.failed} failed`;
    block.appendChild(el("h3", "", heading));
    if (checks.failures && checks.failures.length) {
      const list = el("ul", "failures");
      checks.failures.forEach((line) => list.appendChild(el("li", "", line)));
      block.appendChild(list);
    }
    return block;
  }

  function answerBlock(answer) {
    const block = el("section", "answer-fields");
    block.appendChild(el("h3", "", "Answer sent to the platform"));
    const list = el("dl", "facts");
    for (const [field, value] of Object.entries(answer)) {
      list.appendChild(el("dt", "", field));
      const text = typeof value === "string" ? value : JSON.stringify(value);
      list.appendChild(text ? el("dd", "", text) : el("dd", "muted", "(empty)"));
    }
    block.appendChild(list);
    return block;
  }

  function sourceBlock(source) {
    const block = el("section", "source");
    const rows = source.rows || [];
    block.appendChild(el("h3", "", `${source.source}: ${plural(rows.length, "row", "rows")}`));
    const wrap = el("div", "table-wrap");
    wrap.tabIndex = 0; // scrolls sideways with the keyboard too
    wrap.setAttribute("role", "region");
    wrap.setAttribute("aria-label", `${source.source} rows`);
    const table = el("table", "rows");
    const head = el("tr");
    (source.columns || []).forEach((column) => {
      const th = el("th", "", column);
      th.scope = "col";
      head.appendChild(th);
    });
    table.appendChild(el("thead")).appendChild(head);
    const body = table.appendChild(el("tbody"));
    rows.forEach((cells) => {
      const tr = body.appendChild(el("tr"));
      cells.forEach((cell) => {
        const text = cell === null || cell === undefined ? "" : String(cell);
        tr.appendChild(el("td", /^-?\d+(\.\d+)?$/.test(text) ? "num" : "", text));
      });
    });
    wrap.appendChild(table);
    block.appendChild(wrap);
    return block;
  }

  // -- the reaction-time plot ----------------------------------------------------------------------
  const median = (sorted) => {
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  };

  /** About `count` round tick values (1, 2 or 5 × 10ⁿ apart) between lo and hi (D3's rule of thumb). */
  function plotWidth(slot) {
    return Math.max(300, Math.min(640, slot.clientWidth || 640));
  }

  // A window turned from wide to narrow (or back): the plot is drawn again at its new width, so
  // its labels keep their size (it is drawn in pixels, not scaled).
  function redrawPlot() {
    const slot = document.querySelector("#detail .data-slot");
    const shown = slot && slot.querySelector(".plot");
    if (!state.plotted || !shown) return;
    const width = plotWidth(slot);
    if (Math.abs(width - state.plotted.width) < 8) return;
    state.plotted.width = width;
    shown.replaceWith(plotBlock(state.plotted.times, state.summary ? state.summary.group : null, width));
  }

  function ticks(lo, hi, count) {
    const raw = (hi - lo) / count;
    let step = Math.pow(10, Math.floor(Math.log10(raw)));
    const error = raw / step;
    if (error >= Math.sqrt(50)) step *= 10;
    else if (error >= Math.sqrt(10)) step *= 5;
    else if (error >= Math.sqrt(2)) step *= 2;
    const values = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) values.push(v);
    return values;
  }

  /**
   * The group's histogram in grey with this participant's RTs as blue ticks under it, both medians
   * marked: "faster than everyone" shows at a glance. The axis covers the group (already clipped at
   * its 99th percentile by the server) and this participant up to their own 95th percentile, so one
   * stray 9-second trial does not squash the rest; those beyond are drawn dashed at the edge and
   * counted in the legend.
   */
  function plotBlock(times, group, width) {
    const sorted = [...times].sort((a, b) => a - b);
    const bins = group && group.bins && group.bins.length ? group.bins : null;
    let lo = sorted[0];
    let hi = sorted[Math.floor(0.95 * (sorted.length - 1))];
    if (bins) {
      lo = Math.min(lo, bins[0].from);
      hi = Math.max(hi, bins[bins.length - 1].to);
    }
    lo = Math.max(0, lo);
    if (hi <= lo) hi = lo + 1;

    const height = 176;
    const left = 64;
    const right = 16;
    const barsTop = 8;
    const barsBottom = 98;
    const rugTop = 106;
    const rugBottom = 124;
    const axisY = 128;
    const x = (v) => left + ((Math.min(Math.max(v, lo), hi) - lo) / (hi - lo)) * (width - left - right);

    const mine = median(sorted);
    const plot = svg("svg", {
      class: "rt-plot",
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": `Reaction times: this participant's median ${ms(mine)}${group && group.median !== null && group.median !== undefined ? `, the group's ${ms(group.median)}` : ""}`,
    });

    if (bins) {
      const most = Math.max(1, ...bins.map((b) => b.count));
      const bars = svg("g", { class: "bars" });
      for (const bin of bins) {
        const h = ((barsBottom - barsTop) * bin.count) / most;
        const x0 = x(bin.from);
        const rect = svg("rect", { x: x0.toFixed(1), y: (barsBottom - h).toFixed(1), width: Math.max(1, x(bin.to) - x0 - 1).toFixed(1), height: h.toFixed(1) });
        rect.appendChild(svg("title", {}, `${ms(bin.from)}–${ms(bin.to)}: ${bin.count}`));
        bars.appendChild(rect);
      }
      plot.appendChild(bars);
      plot.appendChild(svg("text", { class: "side", x: left - 8, y: (barsTop + barsBottom) / 2 + 4, "text-anchor": "end" }, "group"));
    }
    plot.appendChild(svg("text", { class: "side you", x: left - 8, y: (rugTop + rugBottom) / 2 + 4, "text-anchor": "end" }, "this one"));

    const rug = svg("g", { class: "ticks" });
    for (const v of sorted) {
      const at = x(v).toFixed(1);
      rug.appendChild(svg("line", { x1: at, x2: at, y1: rugTop, y2: rugBottom, class: v > hi || v < lo ? "beyond" : "" }));
    }
    plot.appendChild(rug);

    if (bins && group.median !== null && group.median !== undefined) {
      const at = x(group.median).toFixed(1);
      plot.appendChild(svg("line", { class: "median group", x1: at, x2: at, y1: barsTop - 4, y2: axisY }));
    }
    const at = x(mine).toFixed(1);
    plot.appendChild(svg("line", { class: "median you", x1: at, x2: at, y1: barsTop - 4, y2: axisY }));

    const axis = svg("g", { class: "axis" });
    axis.appendChild(svg("line", { x1: left, x2: width - right, y1: axisY, y2: axisY }));
    for (const v of ticks(lo, hi, 6)) {
      const tx = x(v).toFixed(1);
      axis.appendChild(svg("line", { x1: tx, x2: tx, y1: axisY, y2: axisY + 5 }));
      axis.appendChild(svg("text", { x: tx, y: axisY + 18, "text-anchor": "middle" }, Math.round(v).toLocaleString("en")));
    }
    axis.appendChild(svg("text", { class: "label", x: left + (width - left - right) / 2, y: height - 6, "text-anchor": "middle" }, "reaction time (ms)"));
    plot.appendChild(axis);

    const block = el("section", "plot");
    block.appendChild(el("h3", "", "Reaction times"));
    block.appendChild(plot);
    const legend = el("p", "plot-legend");
    const entry = (key, text) => {
      const item = legend.appendChild(el("span", "entry"));
      item.appendChild(el("span", `key ${key}`));
      item.appendChild(document.createTextNode(text));
    };
    if (bins) entry("group", `group${group.median !== null && group.median !== undefined ? `, median ${ms(group.median)}` : ""}`);
    const outside = sorted.filter((v) => v > hi || v < lo).length;
    const beyond = outside ? `; ${outside} beyond the axis, drawn dashed at its edge` : "";
    entry("you", `this participant: ${plural(sorted.length, "reaction time", "reaction times")}, median ${ms(mine)}${beyond}`);
    block.appendChild(legend);
    return block;
  }

  // -- decisions ------------------------------------------------------------------------------------
  const dialogOpen = () => document.querySelector("dialog[open]");

  function describe(ids) {
    if (ids.length === 1) {
      const item = state.byId.get(ids[0]);
      return item ? `${item.assignment_id} (worker ${item.worker_id})` : ids[0];
    }
    return `${ids.length} selected submissions`;
  }

  function startDecision(action) {
    if (state.busy || dialogOpen()) return;
    const ids = targets();
    if (!ids.length) return;
    state.pending = { action, ids };
    if (action === "approve") {
      preview({ action, assignment_ids: ids });
      return;
    }
    const reject = action === "reject";
    $("decision-title").textContent = reject ? "Reject" : "Bonus";
    $("decision-who").textContent = describe(ids);
    $("reject-fields").hidden = !reject;
    $("bonus-fields").hidden = reject;
    // Hidden fields must not stop the form with their `required`.
    for (const id of ["reason", "category"]) $(id).disabled = !reject;
    for (const id of ["bonus-amount", "bonus-reason"]) $(id).disabled = reject;
    if (reject) $("reason").value = state.lastReason;
    showReasonCount();
    $("decision-error").hidden = true;
    $("decision").showModal();
    const first = reject ? $("reason") : $("bonus-amount");
    first.focus();
    first.select();
  }

  function showReasonCount() {
    const max = (state.summary && state.summary.reason_max) || 1024;
    $("reason-count").textContent = `${$("reason").value.length} / ${max}`;
  }

  function submitDecision(event) {
    event.preventDefault(); // the page never navigates (and the CSP's form-action forbids it anyway)
    if (state.busy || !state.pending) return;
    const { action, ids } = state.pending;
    const body = { action, assignment_ids: ids };
    if (action === "reject") {
      body.reason = $("reason").value.trim();
      state.lastReason = body.reason;
      if ($("category").value) body.category = $("category").value;
    } else {
      body.amount = $("bonus-amount").value.trim();
      body.reason = $("bonus-reason").value.trim();
    }
    preview(body);
  }

  /** Asks the server what the decision would do; it answers with the money and a confirmation id. */
  async function preview(body) {
    setBusy(true);
    try {
      const answer = await api("POST", "/api/preview", body);
      closeDialog("decision");
      if (!answer.confirmation) {
        say(answer.message, { lines: heldLines(answer.held) });
        return;
      }
      openConfirm(answer);
    } catch (error) {
      say(error.message, { error: true });
      if ($("decision").open) {
        $("decision-error").textContent = error.message;
        $("decision-error").hidden = false;
      }
    } finally {
      setBusy(false);
    }
  }

  const heldLines = (held) => (held || []).map((h) => `${h.assignment_id}: ${h.reason}`);

  function openConfirm(answer) {
    state.confirmation = answer;
    $("confirm-text").textContent = answer.message;
    const held = heldLines(answer.held);
    $("confirm-held").replaceChildren(...held.map((line) => el("li", "", line)));
    $("confirm-held-box").hidden = !held.length;
    $("confirm-ok").disabled = false;
    $("confirm").showModal();
    $("confirm-ok").focus();
  }

  /** OK: the only path to /api/decide. The confirmation is single-use here as on the server. */
  async function decide() {
    const answer = state.confirmation;
    if (!answer || state.busy) return;
    state.confirmation = null;
    $("confirm-ok").disabled = true;
    const pending = state.pending;
    setBusy(true);
    try {
      const result = await api("POST", "/api/decide", { confirmation: answer.confirmation });
      closeDialog("confirm");
      say(result.message, { lines: result.warnings || [] });
      applyDecision(result, pending);
    } catch (error) {
      closeDialog("confirm");
      say(error.message, { error: true });
    } finally {
      setBusy(false);
    }
  }

  function cancelConfirm() {
    if (!state.confirmation) return;
    state.confirmation = null;
    say("Cancelled: nothing was sent to the platform.");
  }

  /** Puts the platform's answer on the rows: new statuses, bonus markers; the selection is spent. */
  function applyDecision(result, pending) {
    for (const item of result.items || []) {
      const known = state.byId.get(item.assignment_id);
      if (known) Object.assign(known, item);
    }
    const shown = currentItem();
    const single = pending && pending.ids.length === 1 && !state.selected.size && shown && pending.ids[0] === shown.assignment_id;
    state.selected.clear();
    state.items.forEach((item) => refreshRow(item.assignment_id));
    showSelection();
    // After approving or rejecting the one shown, go on to the next: a review is a run of these.
    if (single && result.action !== "bonus" && state.current < state.items.length - 1) move(1);
    else if (shown) showDetail(shown);
    api("GET", "/api/summary")
      .then(showSummary)
      .catch(() => {}); // the counts catch up on the next refresh; the decision itself is already shown
  }

  function setBusy(busy) {
    state.busy = busy;
    document.body.classList.toggle("busy", busy);
    $("decision-ok").disabled = busy;
    showSelection();
  }

  function closeDialog(id) {
    const dialog = $(id);
    if (dialog.open) dialog.close();
  }

  // -- refresh and filter ---------------------------------------------------------------------------
  async function refresh() {
    if (state.busy) return;
    setBusy(true);
    say("Refreshing from the platform…");
    const keep = currentItem() ? currentItem().assignment_id : null;
    try {
      showSummary(await api("POST", "/api/refresh", {}));
      await restartList(keep);
      say("Refreshed from the platform.");
    } catch (error) {
      say(error.message, { error: true });
    } finally {
      setBusy(false);
    }
  }

  // -- keyboard -------------------------------------------------------------------------------------
  function typing(target) {
    if (!(target instanceof Element)) return false;
    if (target.isContentEditable || target.matches("textarea, select")) return true;
    return target.matches("input") && !target.matches("[type=checkbox], [type=radio], [type=button], [type=submit]");
  }

  function onKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (dialogOpen()) return; // each dialog handles its own keys
    if (typing(event.target)) {
      if (event.key === "Escape" || (event.key === "Enter" && event.target === $("filter"))) {
        event.preventDefault();
        $("queue").focus();
      }
      return;
    }
    switch (event.key) {
      case "j":
      case "ArrowDown":
        move(1);
        break;
      case "k":
      case "ArrowUp":
        move(-1);
        break;
      case "x":
      case " ":
        if (currentItem()) toggle(currentItem().assignment_id);
        break;
      case "X":
        toggleAll();
        break;
      case "a":
        startDecision("approve");
        break;
      case "r":
        startDecision("reject");
        break;
      case "b":
        startDecision("bonus");
        break;
      case "/":
        $("filter").focus();
        break;
      case "R":
        refresh();
        break;
      case "?":
        openHelp();
        break;
      case "Home":
        if (state.items.length) setCurrent(0);
        break;
      case "Escape":
        if (state.selected.size) clearSelection();
        break;
      default:
        return;
    }
    event.preventDefault();
  }

  function openHelp() {
    $("help").showModal();
    $("help-close").focus();
  }

  /** Every dialog gives the keyboard back to the list when it closes, however it closed. */
  function backToQueue() {
    if (!dialogOpen()) $("queue").focus();
  }

  // -- wiring ---------------------------------------------------------------------------------------
  function wire() {
    document.addEventListener("keydown", onKey);

    $("queue").addEventListener("click", (event) => {
      const row = event.target.closest("li.submission");
      if (!row) return;
      const id = row.dataset.id;
      if (event.target.matches("input.select")) toggle(id);
      else setCurrent(state.items.indexOf(state.byId.get(id)));
      $("queue").focus();
    });
    $("queue").parentElement.addEventListener(
      "scroll",
      () => {
        if (hasMore() && nearBottom()) loadMore();
      },
      { passive: true },
    );

    // A window turned from wide to narrow (or back) re-lays the list: keep the current row in view.
    let resizing = null;
    window.addEventListener("resize", () => {
      const item = currentItem();
      if (item && state.rows.get(item.assignment_id)) reveal(state.rows.get(item.assignment_id));
      clearTimeout(resizing);
      resizing = setTimeout(redrawPlot, 80);
    });

    $("filter").addEventListener("change", () => {
      state.filter = $("filter").value === "all" ? "all" : "awaiting";
      restartList(currentItem() ? currentItem().assignment_id : null);
    });

    for (const action of ["approve", "reject", "bonus"]) $(action).addEventListener("click", () => startDecision(action));
    $("refresh").addEventListener("click", refresh);
    $("help-open").addEventListener("click", openHelp);
    $("help-close").addEventListener("click", () => closeDialog("help"));
    $("help").addEventListener("keydown", (event) => {
      if (event.key === "?") {
        event.preventDefault();
        closeDialog("help");
      }
    });

    $("decision-form").addEventListener("submit", submitDecision);
    $("decision-cancel").addEventListener("click", () => closeDialog("decision"));
    $("reason").addEventListener("input", showReasonCount);
    $("decision").addEventListener("keydown", (event) => {
      // Enter makes a new line in a textarea; Ctrl+Enter sends the form from there.
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.matches("textarea")) {
        event.preventDefault();
        $("decision-form").requestSubmit();
      }
    });

    $("confirm-ok").addEventListener("click", decide);
    $("confirm-cancel").addEventListener("click", () => {
      cancelConfirm();
      closeDialog("confirm");
    });
    $("confirm").addEventListener("cancel", cancelConfirm); // Esc
    $("confirm").addEventListener("keydown", (event) => {
      // Enter is OK wherever the focus is, except on Cancel; a held-down Enter from the form does not count.
      if (event.key !== "Enter" || event.target === $("confirm-cancel")) return;
      event.preventDefault();
      if (!event.repeat) decide();
    });
    for (const id of ["decision", "confirm", "help"]) $(id).addEventListener("close", backToQueue);
  }

  async function start() {
    wire();
    try {
      showSummary(await api("GET", "/api/summary"));
    } catch (error) {
      say(error.message, { error: true });
      showEmptyDetail();
      return;
    }
    await loadMore();
    setCurrent(state.items.length ? 0 : -1);
    $("queue").focus();
    document.body.dataset.ready = "true";
    if (hasMore() && nearBottom()) loadMore();
  }

  start();
})();
