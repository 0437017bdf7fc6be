/* tivcast dashboard: history and scenario fan charts that poll cached predictions politely.
 *
 * Every forecast comes from GET /v1/forecasts/latest?country=&scenario=, polled with the ETag of the
 * forecast already shown (If-None-Match), so a quiet poll is a 304 with no body. A 202 means the
 * forecast is being computed: the page says so and asks again after Retry-After. A 503 means the
 * forecast service is away: the page keeps what it has, says so calmly and retries after Retry-After,
 * backing off while failures repeat. Polling stops while the tab is hidden and resumes when it shows.
 * Nothing here is fetched from anywhere but this API; the chart library (uPlot) ships with the page.
 */
(function () {
  "use strict";

  const params = new URLSearchParams(location.search);
  const QUIET_SECONDS = clamp(Number(params.get("poll")) || 20, 1, 600); // between polls of a shown forecast
  const FIRST_RETRY = 2; // seconds, when a 202 or 503 names no Retry-After
  const MAX_BACKOFF = 120;
  const HORIZON = 10; // years ahead, as the built-in forecasts
  const COMPARE = ["JPN", "KOR", "CHN"];
  const HISTORY_COLOR = "#1e293b";
  const SCENARIO_COLORS = {
    baseline: "#2563eb",
    liberalisation: "#059669",
    restriction: "#dc2626",
    "demand-surge": "#d97706",
  };
  const SPARE_COLORS = ["#0891b2", "#9333ea", "#4d7c0f", "#be185d"];
  const CUSTOM_COLORS = ["#7c3aed", "#db2777", "#0d9488", "#ea580c"];
  const COUNTRY_COLORS = { JPN: "#be123c", KOR: "#1d4ed8", CHN: "#b45309" };
  const EXTRA_COUNTRY_COLOR = "#0f766e";
  const DRIVER_FALLBACK = {
    export_policy_openness: { title: "Export-policy openness", unit: "index 0-1" },
    japan_defence_spending: { title: "Japan's defence spending", unit: "USD million, constant 2023 prices" },
    world_military_expenditure: { title: "World military expenditure", unit: "USD billion, constant 2023 prices" },
    own_military_expenditure: { title: "Own military expenditure", unit: "USD million, constant 2023 prices" },
  };

  const state = {
    country: (params.get("country") || "JPN").toUpperCase(),
    scenario: params.get("scenario") || "baseline",
    from: Number(params.get("from")) || 1990, // first year drawn
    names: {}, // ISO3 -> name
    coverage: [], // countries with arms-export data
    scenarios: [], // the built-in catalogue
    dataset: null, // /v1/datasets/arms-exports
    events: [], // /v1/policy-events
    eventsMeta: null,
    shares: new Map(), // country -> {rows, byYear: Map(year -> row), fillUntil}
    sharesMeta: null,
    entries: new Map(), // "JPN|baseline" -> forecast entry (see entry())
    custom: new Map(), // country -> Map(name -> custom entry)
    stats: { polls: 0, notModified: 0 },
    dataVersion: null,
  };

  // ---------------------------------------------------------------------------------------------
  // Small helpers

  function clamp(x, lo, hi) {
    return Math.min(hi, Math.max(lo, x));
  }

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "dataset") Object.assign(el.dataset, v);
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const child of children.flat()) {
      if (child == null || child === false) continue;
      el.append(child instanceof Node ? child : String(child));
    }
    return el;
  }

  function $(id) {
    return document.getElementById(id);
  }

  function alpha(hex, a) {
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
  }

  function fmtPct(v, unit = " %") {
    if (v == null || !Number.isFinite(v)) return "–";
    if (v === 0) return "0" + unit;
    const abs = Math.abs(v);
    const digits = abs >= 10 ? 1 : abs >= 1 ? 2 : abs >= 0.01 ? 3 : 2;
    const text = abs >= 1 ? v.toFixed(digits) : Number(v.toPrecision(digits)).toString();
    return text + unit;
  }

  function fmtNum(v) {
    if (v == null || !Number.isFinite(v)) return "–";
    const abs = Math.abs(v);
    if (abs >= 1000) return Math.round(v).toLocaleString("en-GB");
    if (abs >= 10) return v.toFixed(1);
    return Number(v.toPrecision(3)).toString();
  }

  function fmtTime(d) {
    return d ? d.toLocaleTimeString("en-GB", { hour12: false }) : "";
  }

  function shortHash(s, n = 12) {
    return s ? String(s).slice(0, n) : "–";
  }

  function retryAfterSeconds(response) {
    const raw = response.headers.get("Retry-After");
    if (!raw) return null;
    const seconds = Number(raw);
    if (Number.isFinite(seconds)) return Math.max(0, seconds);
    const at = Date.parse(raw);
    return Number.isFinite(at) ? Math.max(0, (at - Date.now()) / 1000) : null;
  }

  function jitter(seconds) {
    return seconds * (0.9 + Math.random() * 0.2);
  }

  async function bodyOf(response) {
    try {
      return await response.json();
    } catch (_) {
      return null;
    }
  }

  function countryName(code) {
    return state.names[code] || code;
  }

  function scenarioInfo(name) {
    return state.scenarios.find((s) => s.name === name) || null;
  }

  function applicable(scenario, country) {
    return !scenario.countries || scenario.countries.includes(country);
  }

  function scenarioColor(name) {
    if (SCENARIO_COLORS[name]) return SCENARIO_COLORS[name];
    const i = state.scenarios.findIndex((s) => s.name === name);
    return SPARE_COLORS[Math.max(0, i) % SPARE_COLORS.length];
  }

  function countryColor(code) {
    return COUNTRY_COLORS[code] || EXTRA_COUNTRY_COLOR;
  }

  function intervalKeys(body) {
    const pct = Math.round((body.interval_width || 0.8) * 100);
    return { lo: `lo-${pct}`, hi: `hi-${pct}`, pct };
  }

  // Plain GETs of data endpoints: the browser revalidates them with their ETags (cache: no-cache).
  async function getJSON(url) {
    let wait = FIRST_RETRY;
    for (;;) {
      let response = null;
      try {
        response = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-cache" });
      } catch (_) {
        response = null;
      }
      if (response && response.ok) {
        hideBanner(url);
        return response.json();
      }
      if (response && response.status >= 400 && response.status < 500) {
        const problem = await bodyOf(response);
        throw new Error((problem && problem.detail) || `${url}: HTTP ${response.status}`);
      }
      const after = response ? retryAfterSeconds(response) : null;
      const seconds = Math.max(after || 0, wait);
      showBanner(url, `Could not load ${url.split("?")[0]} just now; trying again in ${Math.round(seconds)} s.`);
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      wait = Math.min(MAX_BACKOFF, wait * 2);
    }
  }

  const bannerOwners = new Map();
  function showBanner(owner, text) {
    bannerOwners.set(owner, text);
    const el = $("banner");
    el.textContent = [...bannerOwners.values()].join(" ");
    el.hidden = false;
  }
  function hideBanner(owner) {
    if (!bannerOwners.delete(owner)) return;
    const el = $("banner");
    el.textContent = [...bannerOwners.values()].join(" ");
    el.hidden = bannerOwners.size === 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Polling

  function entry(country, scenario) {
    const key = `${country}|${scenario}`;
    let e = state.entries.get(key);
    if (!e) {
      e = { country, scenario, body: null, etag: null, state: "loading", detail: "", job: null,
        checked: null, nextAt: null, lastStatus: null };
      state.entries.set(key, e);
    }
    return e;
  }

  /** Polls one URL: `latest` URLs forever (quietly, with If-None-Match), a result URL until it is ready. */
  class Poller {
    constructor(url, target, { once = false, onUpdate = null } = {}) {
      this.url = url;
      this.target = target; // the entry it fills in
      this.once = once;
      this.onUpdate = onUpdate;
      this.timer = null;
      this.failures = 0;
      this.stopped = false;
      this.inflight = false;
      this.dueWhileHidden = false;
    }

    start() {
      this.tick();
      return this;
    }

    stop() {
      this.stopped = true;
      clearTimeout(this.timer);
      this.timer = null;
    }

    pause() {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = null;
        this.dueWhileHidden = true;
      }
    }

    resume() {
      if (this.stopped || this.inflight || !this.dueWhileHidden) return;
      this.dueWhileHidden = false;
      const wait = this.target.nextAt ? Math.max(0, (this.target.nextAt - Date.now()) / 1000) : 0;
      this.schedule(Math.min(wait, 1), false);
    }

    schedule(seconds, jittered = true) {
      if (this.stopped) return;
      clearTimeout(this.timer);
      const wait = jittered ? jitter(seconds) : seconds;
      this.target.nextAt = Date.now() + wait * 1000;
      if (document.hidden) {
        this.timer = null;
        this.dueWhileHidden = true;
        return;
      }
      this.timer = setTimeout(() => this.tick(), wait * 1000);
    }

    report(chartsToo = false) {
      changed(chartsToo);
      if (this.onUpdate) this.onUpdate(this.target);
    }

    backoff(retryAfter) {
      this.failures += 1;
      return Math.max(retryAfter || 0, Math.min(MAX_BACKOFF, FIRST_RETRY * 2 ** (this.failures - 1)));
    }

    async tick() {
      this.timer = null;
      if (this.stopped) return;
      if (document.hidden) {
        this.dueWhileHidden = true;
        return;
      }
      const e = this.target;
      const headers = { Accept: "application/json" };
      if (e.etag) headers["If-None-Match"] = e.etag;
      this.inflight = true;
      let response;
      try {
        response = await fetch(this.url, { headers, cache: "no-store" });
      } catch (_) {
        response = null;
      }
      this.inflight = false;
      if (this.stopped) return;
      e.checked = new Date();
      if (!response) {
        e.state = e.body ? "stale" : "unavailable";
        e.detail = "The API did not answer.";
        this.schedule(this.backoff(null), false);
        this.report();
        return;
      }
      state.stats.polls += 1;
      e.lastStatus = response.status;
      const after = retryAfterSeconds(response);
      switch (response.status) {
        case 304:
          state.stats.notModified += 1;
          this.failures = 0;
          e.state = "ready";
          e.detail = "";
          this.schedule(QUIET_SECONDS);
          this.report();
          return;
        case 200: {
          const body = await bodyOf(response);
          if (!body || !Array.isArray(body.forecast)) {
            e.state = e.body ? "stale" : "unavailable";
            e.detail = "The answer could not be read.";
            this.schedule(this.backoff(after), false);
            this.report();
            return;
          }
          this.failures = 0;
          const isNew = !e.body || e.body.key !== body.key;
          e.body = body;
          e.etag = response.headers.get("ETag") || `"${body.key}"`;
          e.state = "ready";
          e.detail = "";
          e.job = null;
          if (this.once) this.stop();
          else this.schedule(QUIET_SECONDS);
          this.report(isNew);
          if (isNew) landed(e);
          return;
        }
        case 202: {
          const job = await bodyOf(response);
          this.failures = 0;
          e.state = "computing";
          e.job = job;
          e.detail = (job && job.note) || "";
          this.schedule(after == null ? FIRST_RETRY : Math.max(1, after), false);
          this.report();
          return;
        }
        case 503:
        case 502:
        case 504:
        case 429: {
          const problem = await bodyOf(response);
          e.state = e.body ? "stale" : "unavailable";
          e.detail = (problem && problem.detail) || "";
          this.schedule(this.backoff(after), false);
          this.report();
          return;
        }
        default: {
          const problem = await bodyOf(response);
          if (response.status >= 400 && response.status < 500) {
            e.state = "error";
            e.detail = (problem && problem.detail) || `HTTP ${response.status}`;
            this.stop();
          } else {
            e.state = e.body ? "stale" : "unavailable";
            e.detail = (problem && problem.detail) || `HTTP ${response.status}`;
            this.schedule(this.backoff(after), false);
          }
          this.report();
        }
      }
    }
  }

  const pollers = new Map(); // url -> Poller (latest URLs)
  const followers = new Set(); // result URLs of custom scenarios

  function latestUrl(country, scenario) {
    const q = new URLSearchParams({ country, scenario });
    return `/v1/forecasts/latest?${q}`;
  }

  /** Poll exactly the (country, scenario) pairs shown; stop the others (their last forecast stays known). */
  function wantPollers() {
    const pairs = [];
    for (const s of state.scenarios) if (applicable(s, state.country)) pairs.push([state.country, s.name]);
    for (const c of compareCountries()) pairs.push([c, "baseline"]);
    const wanted = new Set();
    for (const [country, scenario] of pairs) {
      const url = latestUrl(country, scenario);
      wanted.add(url);
      if (!pollers.has(url)) pollers.set(url, new Poller(url, entry(country, scenario)).start());
    }
    for (const [url, poller] of pollers) {
      if (!wanted.has(url)) {
        poller.stop();
        pollers.delete(url);
      }
    }
  }

  document.addEventListener("visibilitychange", () => {
    for (const p of [...pollers.values(), ...followers]) {
      if (document.hidden) p.pause();
      else p.resume();
    }
    if (!document.hidden) changed();
  });

  /** A forecast with a new key landed: new data may have come with it. */
  function landed(e) {
    const version = e.body && e.body.data_version;
    if (!version) return;
    if (state.dataVersion && version !== state.dataVersion) {
      // A new data release: reload the history and re-post the custom scenarios under the new version.
      state.shares.clear();
      loadShares(compareCountries()).then(() => changed(true));
      loadReference().then(() => changed(true));
      for (const customs of state.custom.values()) for (const c of customs.values()) submitCustom(c.request, c);
    }
    state.dataVersion = version;
  }

  // ---------------------------------------------------------------------------------------------
  // Data loading

  async function loadShares(countries) {
    const missing = countries.filter((c) => !state.shares.has(c));
    if (!missing.length) return;
    // WLD comes along to say which years have a SIPRI world total: in those years a supplier's missing
    // row means "no deliveries identified" (read as 0); after them a missing row is unknown.
    const body = await getJSON(`/v1/arms-exports/shares?country=${[...missing, "WLD"].join(",")}`);
    state.sharesMeta = body;
    let fillUntil = -Infinity;
    for (const r of body.data) {
      if (r.country === "WLD" && r.world_basis === "sipri_world_total") fillUntil = Math.max(fillUntil, r.end);
    }
    for (const code of missing) {
      const rows = body.data.filter((r) => r.country === code);
      const byYear = new Map(rows.map((r) => [r.end, r]));
      state.shares.set(code, { rows, byYear, fillUntil });
    }
  }

  async function loadReference() {
    const [dataset, events] = await Promise.all([getJSON("/v1/datasets/arms-exports"), getJSON("/v1/policy-events")]);
    state.dataset = dataset;
    state.events = events.data.map((e, i) => ({ ...e, n: i + 1, x: eventYear(e.date) }));
    state.eventsMeta = events;
    renderEvents();
  }

  function eventYear(date) {
    const [y, m, d] = date.split("-").map(Number);
    const start = Date.UTC(y, 0, 1);
    const t = Date.UTC(y, (m || 1) - 1, d || 1);
    return y + (t - start) / (Date.UTC(y + 1, 0, 1) - start);
  }

  function compareCountries() {
    return COMPARE.includes(state.country) ? COMPARE : [...COMPARE, state.country];
  }

  /** Observed shares by year, with SIPRI's "no deliveries" years read as 0 from the first observation. */
  function historyOf(code) {
    const s = state.shares.get(code);
    const out = new Map();
    if (!s || !s.rows.length) return out;
    const first = Math.min(...s.rows.map((r) => r.end));
    const last = Math.max(s.fillUntil, ...s.rows.map((r) => r.end));
    for (let y = first; y <= last; y++) {
      const row = s.byYear.get(y);
      if (row) out.set(y, { value: row.share, row });
      else if (y <= s.fillUntil) out.set(y, { value: 0, row: null });
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // Rendering

  let renderQueued = false;
  let chartsDirty = true;
  function changed(chartsToo = false) {
    if (chartsToo) chartsDirty = true;
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => {
      renderQueued = false;
      render();
    });
  }

  function render() {
    renderTitle();
    renderChips();
    renderStatus();
    if (chartsDirty) {
      chartsDirty = false;
      renderMainChart();
      renderCompareChart();
      renderSelected();
      renderPipeline();
      renderCustomGrid(false);
      renderCustomDeals();
      renderProvenance();
    }
    renderPollStats();
  }

  function shownScenarios() {
    const list = state.scenarios
      .filter((s) => applicable(s, state.country))
      .map((s) => ({ name: s.name, title: s.title, color: scenarioColor(s.name), entry: entry(state.country, s.name),
        custom: false }));
    const customs = state.custom.get(state.country);
    if (customs) {
      let i = 0;
      for (const c of customs.values()) {
        list.push({ name: c.name, title: `Custom: ${c.name}`, color: CUSTOM_COLORS[i++ % CUSTOM_COLORS.length],
          entry: c, custom: true });
      }
    }
    return list;
  }

  function selectedShown(list = shownScenarios()) {
    return list.find((s) => s.name === state.scenario) || list[0] || null;
  }

  function renderTitle() {
    const name = countryName(state.country);
    const possessive = name.endsWith("s") ? `${name}'` : `${name}'s`;
    const text = `${possessive} share of global arms exports`;
    if ($("title").textContent !== text) {
      $("title").textContent = text;
      document.title = `tivcast: ${text}`;
    }
  }

  function stateLabel(e) {
    switch (e.state) {
      case "ready":
        return "ready";
      case "computing":
        return "computing…";
      case "stale":
        return "service away";
      case "unavailable":
        return "waiting for the service";
      case "error":
        return "not available";
      default:
        return "loading…";
    }
  }

  let chipsSignature = "";
  function renderChips() {
    const shown = shownScenarios();
    const signature = JSON.stringify(shown.map((s) => [s.name, s.entry.state, s.entry.detail, s.color,
      s.name === state.scenario]));
    if (signature === chipsSignature) return; // keep the buttons (and keyboard focus) between quiet polls
    chipsSignature = signature;
    const items = shown.map((s) => {
      const swatch = h("span", { class: "swatch" });
      swatch.style.background = s.color;
      const chip = h("button", {
        type: "button",
        class: `chip${s.name === state.scenario ? " selected" : ""}`,
        dataset: { scenario: s.name, state: s.entry.state },
        title: s.entry.detail || s.title,
        "aria-pressed": s.name === state.scenario ? "true" : "false",
        onclick: () => select(s.name),
      }, swatch, h("span", { class: "chip-name" }, s.custom ? `custom: ${s.name}` : s.name),
      h("span", { class: "chip-state" }, stateLabel(s.entry)));
      if (!s.custom) return chip;
      return h("span", { class: "chip-group" }, chip, h("button", {
        type: "button", class: "chip-remove", title: `Remove ${s.name}`, "aria-label": `Remove ${s.name}`,
        onclick: () => removeCustom(s.name),
      }, "×"));
    });
    $("chips").replaceChildren(...items);
  }

  function secondsUntil(at) {
    return at ? Math.max(1, Math.round((at - Date.now()) / 1000)) : null;
  }

  /** The selected forecast's state in words (a live region, so it changes only when the state does) and,
   * beside it and not announced, when it was last checked or when it will be checked next. */
  function renderStatus() {
    const el = $("main-status");
    const s = selectedShown();
    let text = "Loading…";
    let aside = "";
    if (s) {
      const e = s.entry;
      const next = secondsUntil(e.nextAt);
      if (e.state !== "ready" && e.state !== "error" && next) aside = ` Next check in ${next} s.`;
      switch (e.state) {
        case "ready":
          text = `${s.title}. Forecast ${shortHash(e.body && e.body.key, 10)}.`;
          aside = ` Checked at ${fmtTime(e.checked)}${e.lastStatus === 304 ? ", unchanged" : ""}.`;
          break;
        case "computing": {
          const job = e.job && e.job.state ? ` (job ${e.job.state})` : "";
          text = `Computing the ${s.name} forecast${job}` +
            `${e.body ? "; showing the previous one meanwhile" : ""}; checking again shortly.`;
          break;
        }
        case "stale":
          text = `The forecast service is away for a moment. Showing the last ${s.name} forecast; trying again.`;
          break;
        case "unavailable":
          text = "The forecast service is unavailable at the moment, so no forecast is drawn yet. " +
            "The history is all here; trying again.";
          break;
        case "error":
          text = `No ${s.name} forecast for ${countryName(state.country)}: ${e.detail}`;
          break;
        default:
          text = `Loading the ${s.name} forecast…`;
      }
      el.dataset.state = e.state;
    } else {
      el.dataset.state = "loading";
    }
    const live = $("main-status-text");
    if (live.textContent !== text) live.textContent = text;
    const after = $("main-status-next");
    if (after.textContent !== aside) after.textContent = aside;
  }

  function renderPollStats() {
    const { polls, notModified } = state.stats;
    $("poll-stats").textContent = `Forecast polls this visit: ${polls}, of which ${notModified} answered ` +
      `304 Not Modified. Quiet polls every ${QUIET_SECONDS} s.`;
  }

  // ---------------------------------------------------------------------------------------------
  // Charts

  const charts = { main: null, compare: null };

  /** The x grid: from the chosen first year to the end of the forecasts (or the usual horizon before any
   * forecast has arrived, so that the chart keeps its layout when they land). */
  function yearsSpan(maps, bodies) {
    let lo = Infinity;
    const from = state.from;
    let hi = -Infinity;
    for (const m of maps) for (const y of m.keys()) { lo = Math.min(lo, y); hi = Math.max(hi, y + HORIZON); }
    for (const b of bodies) for (const r of b.forecast) { lo = Math.min(lo, r.year); hi = Math.max(hi, r.year); }
    if (!Number.isFinite(lo)) return [];
    const xs = [];
    for (let y = Math.max(lo, from); y <= hi; y++) xs.push(y);
    return xs;
  }

  /** Point, lower and upper series of a forecast on the x grid, joined to the last observed value. */
  function fanSeries(xs, body, history) {
    const { lo, hi } = intervalKeys(body);
    const byYear = new Map(body.forecast.map((r) => [r.year, r]));
    const first = body.forecast.length ? body.forecast[0].year : null;
    const anchorYear = first != null ? first - 1 : null;
    const anchor = history.get(anchorYear);
    const pick = (k) => xs.map((y) => {
      const r = byYear.get(y);
      if (r) return r[k];
      if (y === anchorYear && anchor) return anchor.value;
      return null;
    });
    return { point: pick("point"), lo: pick(lo), hi: pick(hi) };
  }

  function niceRange(u, min, max) {
    const top = max > 0 ? uPlot.rangeNum(0, max, 0.08, true)[1] : 1;
    return [0, top];
  }

  function yAxis() {
    return {
      stroke: "#475569",
      grid: { stroke: "#e2e8f0", width: 1 },
      ticks: { stroke: "#cbd5e1", width: 1 },
      size: 64,
      label: "% of world arms exports",
      labelSize: 18,
      labelFont: "12px system-ui, sans-serif",
      font: "12px system-ui, sans-serif",
      values: (u, ticks) => {
        const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : 1;
        let decimals = 0; // as few as show the step exactly (0.25 needs two)
        while (decimals < 4 && Math.abs(step * 10 ** decimals - Math.round(step * 10 ** decimals)) > 1e-6) decimals++;
        return ticks.map((v) => v.toFixed(decimals));
      },
    };
  }

  function xAxis() {
    return {
      stroke: "#475569",
      grid: { stroke: "#f1f5f9", width: 1 },
      ticks: { stroke: "#cbd5e1", width: 1 },
      font: "12px system-ui, sans-serif",
      values: (u, ticks) => ticks.map((v) => (Number.isInteger(v) ? String(v) : "")),
    };
  }

  /** Event markers, the forecast region and the 2024 caveat, drawn on the canvas under/over the series. */
  function overlayPlugin(model) {
    const dpr = () => devicePixelRatio || 1;
    function shadeForecast(u) {
      if (model.forecastFrom == null) return;
      const { ctx, bbox } = u;
      const x0 = u.valToPos(model.forecastFrom - 0.5, "x", true);
      const x1 = bbox.left + bbox.width;
      if (x0 >= x1) return;
      ctx.save();
      ctx.fillStyle = "rgba(148,163,184,0.10)";
      ctx.fillRect(x0, bbox.top, x1 - x0, bbox.height);
      ctx.fillStyle = "#64748b";
      ctx.font = `${11 * dpr()}px system-ui, sans-serif`;
      ctx.textAlign = "left";
      ctx.textBaseline = "top";
      ctx.fillText("forecast", x0 + 6 * dpr(), bbox.top + 4 * dpr());
      ctx.restore();
    }
    function drawEvents(u) {
      if (!model.events.length) return;
      const { ctx, bbox } = u;
      const r = dpr();
      const bottom = bbox.top + bbox.height;
      ctx.save();
      const rows = [];
      for (const ev of model.events) {
        const x = Math.round(u.valToPos(ev.x, "x", true)) + 0.5;
        if (x < bbox.left || x > bbox.left + bbox.width) continue;
        if (!ev.regime) {
          // context events: a short dotted tick on the time axis (details on hover and in the list)
          ctx.strokeStyle = "rgba(71,85,105,0.75)";
          ctx.lineWidth = r;
          ctx.setLineDash([2 * r, 2 * r]);
          ctx.beginPath();
          ctx.moveTo(x, bottom - 14 * r);
          ctx.lineTo(x, bottom);
          ctx.stroke();
          ctx.setLineDash([]);
          ctx.fillStyle = "#475569";
          ctx.beginPath();
          ctx.arc(x, bottom - 15 * r, 2 * r, 0, 2 * Math.PI);
          ctx.fill();
          continue;
        }
        // regime changes: a line across the plot, numbered at the top (a row lower when labels would touch)
        ctx.strokeStyle = "rgba(154,52,18,0.7)";
        ctx.lineWidth = r;
        ctx.setLineDash([]);
        ctx.beginPath();
        ctx.moveTo(x, bbox.top + 14 * r);
        ctx.lineTo(x, bottom);
        ctx.stroke();
        const label = String(ev.n);
        ctx.font = `600 ${10 * r}px system-ui, sans-serif`;
        const w = ctx.measureText(label).width + 6 * r;
        let row = 0;
        while (rows[row] != null && rows[row] > x - w / 2) row++;
        rows[row] = x + w / 2 + 2 * r;
        const y = bbox.top + 1 * r + row * 14 * r;
        ctx.fillStyle = "#9a3412";
        ctx.beginPath();
        if (ctx.roundRect) ctx.roundRect(x - w / 2, y, w, 12 * r, 3 * r);
        else ctx.rect(x - w / 2, y, w, 12 * r);
        ctx.fill();
        ctx.fillStyle = "#ffffff";
        ctx.textAlign = "center";
        ctx.textBaseline = "middle";
        ctx.fillText(label, x, y + 6.5 * r);
      }
      ctx.restore();
    }
    function drawUpperBounds(u) {
      const { ctx } = u;
      const r = dpr();
      ctx.save();
      for (const mark of model.upperBounds) {
        const v = u.data[mark.series][mark.idx];
        if (v == null) continue;
        const x = u.valToPos(u.data[0][mark.idx], "x", true);
        const y = u.valToPos(v, "y", true);
        ctx.beginPath();
        ctx.arc(x, y, 5 * r, 0, 2 * Math.PI);
        ctx.fillStyle = "#ffffff";
        ctx.fill();
        ctx.lineWidth = 2 * r;
        ctx.strokeStyle = mark.color;
        ctx.stroke();
        ctx.fillStyle = mark.color;
        ctx.font = `600 ${11 * r}px system-ui, sans-serif`;
        ctx.textAlign = "left";
        ctx.textBaseline = "bottom";
        ctx.fillText("*", x + 5 * r, y - 3 * r);
      }
      ctx.restore();
    }
    return { hooks: { drawClear: [shadeForecast], draw: [drawEvents, drawUpperBounds] } };
  }

  function tooltipPlugin(model) {
    let tip;
    function init(u) {
      tip = h("div", { class: "tooltip", role: "presentation" });
      tip.hidden = true;
      u.over.appendChild(tip);
      u.over.addEventListener("mouseleave", () => { tip.hidden = true; });
    }
    function setCursor(u) {
      const { idx, left, top } = u.cursor;
      if (idx == null || left == null || left < 0) {
        tip.hidden = true;
        return;
      }
      const year = u.data[0][idx];
      const lines = [h("div", { class: "tip-year" }, String(year))];
      for (const line of model.describe(idx)) lines.push(line);
      const near = model.events
        .map((ev) => ({ ev, d: Math.abs(u.valToPos(ev.x, "x") - left) }))
        .filter((o) => o.d <= 5)
        .sort((a, b) => a.d - b.d)[0];
      if (near) {
        lines.push(h("div", { class: "tip-event" }, h("b", {}, `${near.ev.n}. ${near.ev.date} `), near.ev.title));
      }
      tip.replaceChildren(...lines);
      tip.hidden = false;
      const width = u.over.clientWidth;
      const tipWidth = tip.offsetWidth;
      const x = left + 14 + tipWidth > width ? left - 14 - tipWidth : left + 14;
      tip.style.transform = `translate(${Math.max(0, x)}px, ${Math.max(0, Math.min(top, u.over.clientHeight - tip.offsetHeight))}px)`;
    }
    return { hooks: { init: [init], setCursor: [setCursor] } };
  }

  function mount(name, el, opts, data) {
    if (charts[name]) charts[name].destroy();
    el.replaceChildren();
    charts[name] = new uPlot({ ...opts, width: Math.max(320, el.clientWidth) }, data, el);
  }

  const resizer = new ResizeObserver(() => {
    for (const [name, id] of [["main", "main-chart"], ["compare", "compare-chart"]]) {
      const u = charts[name];
      const el = $(id);
      if (u && Math.abs(u.width - el.clientWidth) > 1) u.setSize({ width: Math.max(320, el.clientWidth), height: u.height });
    }
  });

  function legendItem(color, label, kind) {
    const sw = h("span", { class: `swatch ${kind || ""}` });
    sw.style.background = kind === "line" || kind === "dash" ? "transparent" : color;
    sw.style.borderColor = color;
    return h("span", { class: "legend-item" }, sw, label);
  }

  function renderMainChart() {
    const el = $("main-chart");
    const history = historyOf(state.country);
    const shown = shownScenarios();
    const selected = selectedShown(shown);
    const drawn = shown.filter((s) => s.entry.body);
    const xs = yearsSpan([history], drawn.map((s) => s.entry.body));
    if (!xs.length) {
      el.dataset.points = "0";
      return;
    }
    // draw the unselected scenarios first so that the selected one lies on top
    const ordered = [...drawn.filter((s) => s !== selected), ...drawn.filter((s) => s === selected)];
    const name = countryName(state.country);
    const series = [{ label: "Year" }, {
      label: name,
      stroke: HISTORY_COLOR,
      width: 1.75,
      points: { show: true, size: 4, fill: HISTORY_COLOR, stroke: HISTORY_COLOR },
    }];
    const data = [xs, xs.map((y) => (history.has(y) ? history.get(y).value : null))];
    const bands = [];
    const fans = [];
    for (const s of ordered) {
      const isSel = s === selected;
      const fan = fanSeries(xs, s.entry.body, history);
      const base = data.length;
      data.push(fan.point, fan.lo, fan.hi);
      series.push(
        { label: s.name, stroke: s.color, width: isSel ? 2.5 : 1.5, dash: isSel ? undefined : [6, 4],
          points: { show: isSel, size: 5, fill: "#ffffff", stroke: s.color } },
        { label: `${s.name} low`, stroke: isSel ? alpha(s.color, 0.6) : "transparent", width: isSel ? 1 : 0,
          points: { show: false } },
        { label: `${s.name} high`, stroke: isSel ? alpha(s.color, 0.6) : "transparent", width: isSel ? 1 : 0,
          points: { show: false } },
      );
      bands.push({ series: [base + 2, base + 1], fill: alpha(s.color, isSel ? 0.24 : 0.05) });
      fans.push({ s, base, body: s.entry.body });
    }
    const upperBounds = [];
    history.forEach((h_, y) => {
      if (h_.row && h_.row.world_basis && h_.row.world_basis !== "sipri_world_total") {
        if (xs.includes(y)) upperBounds.push({ series: 1, idx: xs.indexOf(y), color: HISTORY_COLOR });
      }
    });
    const histYears = [...history.keys()];
    const model = {
      events: state.country === "JPN" ? state.events : [],
      forecastFrom: histYears.length ? Math.max(...histYears) + 1 : null,
      upperBounds,
      describe(idx) {
        const y = xs[idx];
        const out = [];
        const obs = history.get(y);
        if (obs) {
          const note = obs.row ? (obs.row.world_basis !== "sipri_world_total" ? " (upper bound*)" : "")
            : " (no deliveries identified)";
          out.push(h("div", {}, h("i", { class: "dot" }), `${name}: ${fmtPct(obs.value)}${note}`));
        }
        for (const f of [...fans].reverse()) {
          const r = f.body.forecast.find((row) => row.year === y);
          if (!r) continue;
          const { lo, hi } = intervalKeys(f.body);
          const dot = h("i", { class: "dot" });
          dot.style.background = f.s.color;
          out.push(h("div", { class: f.s === selected ? "tip-selected" : "" }, dot,
            `${f.s.name}: ${fmtPct(r.point)} (${fmtPct(r[lo], "")}–${fmtPct(r[hi])})`));
        }
        return out;
      },
    };
    const opts = {
      height: 400,
      scales: { x: { time: false }, y: { range: niceRange } },
      axes: [xAxis(), yAxis()],
      series,
      bands,
      legend: { show: false },
      cursor: { drag: { x: true, y: false }, points: { size: 7 } },
      plugins: [overlayPlugin(model), tooltipPlugin(model)],
    };
    mount("main", el, opts, data);

    let points = 0;
    let forecastPoints = 0;
    for (let i = 1; i < data.length; i++) {
      const isPoint = i === 1 || (i - 2) % 3 === 0;
      if (!isPoint) continue;
      const n = data[i].filter((v) => v != null).length;
      points += n;
      if (i > 1) forecastPoints += n;
    }
    el.dataset.points = String(points);
    el.dataset.forecastPoints = String(forecastPoints);
    el.dataset.scenariosDrawn = drawn.map((s) => s.name).join(",");
    el.dataset.selected = selected ? selected.name : "";
    el.dataset.selectedKey = selected && selected.entry.body ? selected.entry.body.key : "";
    el.setAttribute("role", "img");
    el.setAttribute("aria-label", `${name}: share of world arms exports ${xs[0]}-${xs[xs.length - 1]}, ` +
      `history and ${drawn.length} scenario forecasts`);

    const legend = [legendItem(HISTORY_COLOR, `${name}, observed`, "dot")];
    for (const s of shown) {
      const pct = s.entry.body ? intervalKeys(s.entry.body).pct : 80;
      legend.push(legendItem(s.color, s.entry.body ? `${s.name} (${pct} % interval)` : `${s.name} (${stateLabel(s.entry)})`,
        s === selected ? "band" : "dash"));
    }
    if (model.events.length) legend.push(legendItem("#9a3412", "policy events (numbered below)", "line"));
    $("main-legend").replaceChildren(...legend);
    $("main-caveat").textContent = upperBounds.length
      ? "* 2024 has no SIPRI world total: its shares divide by the sum of the 44 suppliers SIPRI lists for 2024 " +
        "(tivcast's calculation, a lower bound of the world total), so 2024 shares are upper bounds."
      : "";
  }

  function renderCompareChart() {
    const el = $("compare-chart");
    const codes = compareCountries();
    const histories = codes.map((c) => historyOf(c));
    const bodies = codes.map((c) => entry(c, "baseline").body);
    const xs = yearsSpan(histories, bodies.filter(Boolean));
    if (!xs.length) {
      el.dataset.points = "0";
      return;
    }
    const series = [{ label: "Year" }];
    const data = [xs];
    const bands = [];
    const lines = [];
    let centralMax = 0;
    codes.forEach((code, i) => {
      const color = countryColor(code);
      const hist = histories[i];
      const values = xs.map((y) => (hist.has(y) ? hist.get(y).value : null));
      data.push(values);
      series.push({ label: countryName(code), stroke: color, width: 1.75, points: { show: false } });
      lines.push({ code, hist, series: data.length - 1 });
      for (const v of values) if (v != null) centralMax = Math.max(centralMax, v);
      const body = bodies[i];
      if (body) {
        const fan = fanSeries(xs, body, hist);
        const base = data.length;
        data.push(fan.point, fan.lo, fan.hi);
        series.push(
          { label: `${countryName(code)} baseline`, stroke: color, width: 1.75, dash: [6, 4], points: { show: false } },
          { label: "low", stroke: "transparent", width: 0, points: { show: false } },
          { label: "high", stroke: "transparent", width: 0, points: { show: false } },
        );
        bands.push({ series: [base + 2, base + 1], fill: alpha(color, 0.08) });
        for (const v of fan.point) if (v != null) centralMax = Math.max(centralMax, v);
        lines[lines.length - 1].body = body;
      }
    });
    const top = uPlot.rangeNum(0, centralMax || 1, 0.1, true)[1];
    const upperBounds = [];
    for (const l of lines) {
      l.hist.forEach((v, y) => {
        if (v.row && v.row.world_basis !== "sipri_world_total" && xs.includes(y)) {
          upperBounds.push({ series: l.series, idx: xs.indexOf(y), color: countryColor(l.code) });
        }
      });
    }
    const model = {
      events: state.events.filter((e) => e.regime),
      forecastFrom: Math.max(...histories.flatMap((m) => [...m.keys()])) + 1,
      upperBounds,
      describe(idx) {
        const y = xs[idx];
        const out = [];
        for (const l of lines) {
          const dot = h("i", { class: "dot" });
          dot.style.background = countryColor(l.code);
          const obs = l.hist.get(y);
          const r = l.body && l.body.forecast.find((row) => row.year === y);
          if (obs) out.push(h("div", {}, dot, `${countryName(l.code)}: ${fmtPct(obs.value)}`));
          else if (r) {
            const { lo, hi } = intervalKeys(l.body);
            out.push(h("div", {}, dot, `${countryName(l.code)} baseline: ${fmtPct(r.point)} ` +
              `(${fmtPct(r[lo], "")}–${fmtPct(r[hi])})`));
          }
        }
        return out;
      },
    };
    const opts = {
      height: 300,
      scales: { x: { time: false }, y: { range: () => [0, top] } },
      axes: [xAxis(), yAxis()],
      series,
      bands,
      legend: { show: false },
      cursor: { drag: { x: true, y: false }, points: { size: 6 } },
      plugins: [overlayPlugin(model), tooltipPlugin(model)],
    };
    mount("compare", el, opts, data);
    let points = 0;
    for (let i = 1; i < data.length; i++) points += data[i].filter((v) => v != null).length;
    el.dataset.points = String(points);
    el.setAttribute("role", "img");
    el.setAttribute("aria-label", `Shares of world arms exports: ${codes.map(countryName).join(", ")}`);
    $("compare-title").textContent = `${codes.map(countryName).slice(0, -1).join(", ")} and ` +
      `${countryName(codes[codes.length - 1])} compared`;
    $("compare-legend").replaceChildren(
      ...codes.map((c) => legendItem(countryColor(c), countryName(c), "dot")),
      legendItem("#475569", "baseline forecast", "dash"),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Selected scenario, custom form, events, provenance

  function renderSelected() {
    const s = selectedShown();
    const table = $("selected-table");
    const notes = $("selected-notes");
    if (!s) return;
    const info = s.custom ? null : scenarioInfo(s.name);
    const body = s.entry.body;
    $("selected-title").textContent = s.custom ? `Custom scenario: ${s.name}` : (info && info.title) || s.name;
    $("selected-description").textContent = (body && body.scenario && body.scenario.description) ||
      (info && info.description) || "";
    if (!body) {
      table.replaceChildren(h("caption", {}, `No ${s.name} forecast yet (${stateLabel(s.entry)}).`));
      notes.hidden = true;
      return;
    }
    const { lo, hi, pct } = intervalKeys(body);
    const drivers = Object.keys((body.model && body.model.drivers) || {});
    const head = h("tr", {}, h("th", { scope: "col" }, "Year"), h("th", { scope: "col" }, "Forecast"),
      h("th", { scope: "col" }, `${pct} % interval`), h("th", { scope: "col" }, "vs baseline"),
      ...drivers.map((d) => h("th", { scope: "col", title: driverInfo(body, d).unit }, driverInfo(body, d).title)));
    const rows = body.forecast.map((r) => {
      const diff = r.difference_from_baseline ? r.difference_from_baseline.point : null;
      return h("tr", {}, h("th", { scope: "row" }, String(r.year)), h("td", {}, fmtPct(r.point)),
        h("td", {}, `${fmtPct(r[lo], "")}–${fmtPct(r[hi])}`),
        h("td", {}, diff == null ? "–" : `${diff > 0 ? "+" : ""}${fmtPct(diff, " pp")}`),
        ...drivers.map((d) => h("td", {}, fmtNum(r.drivers ? r.drivers[d] : null))));
    });
    table.replaceChildren(h("caption", {}, `${(body.target && body.target.unit) || "percent of world arms exports"}; ` +
      `key ${shortHash(body.key, 16)}`), h("thead", {}, head), h("tbody", {}, rows));
    table.dataset.key = body.key;
    notes.hidden = !(body.notes && body.notes.length);
    notes.querySelector("ul").replaceChildren(...(body.notes || []).map((n) => h("li", {}, n)));
  }

  /** Japan's pipeline: the deals of the selected scenario, and its difference from the baseline by cause. */
  function renderPipeline() {
    const card = $("pipeline-card");
    const s = selectedShown();
    const section = s && s.entry.body && s.entry.body.pipeline;
    card.hidden = !section;
    if (!section) return;
    const own = new Set(section.assumptions.filter((a) => a.tivcast_own).map((a) => a.name));
    const mark = (id, field, text) => own.has(`${id}.${field}`) ?
      h("span", {}, text, " ", h("span", { class: "own", title: "tivcast's own assumption" }, "tivcast")) : text;
    const head = h("tr", {}, ...["Deal", "Status", "Units left", "TIV per unit", "Delivery", "Probability",
      "Why"].map((t) => h("th", { scope: "col" }, t)));
    const rows = section.deals.map((d) => h("tr", { dataset: { deal: d.deal_id } },
      h("th", { scope: "row" }, `${d.system} (${d.recipient})`), h("td", {}, d.status),
      h("td", {}, mark(d.deal_id, "units_remaining", fmtNum(d.units_remaining))),
      h("td", {}, mark(d.deal_id, "tiv_per_unit", `${fmtNum(d.tiv_per_unit.central)} (${fmtNum(d.tiv_per_unit.low)}` +
        `–${fmtNum(d.tiv_per_unit.high)})`)),
      h("td", {}, mark(d.deal_id, "delivery_years", d.delivery_years.join(", "))),
      h("td", {}, mark(d.deal_id, "probability", fmtNum(d.scenario_probability))),
      h("td", { class: "why" }, d.reasoning)));
    $("pipeline-table").replaceChildren(h("caption", {}, "TIV million; probability of the deal in this scenario"),
      h("thead", {}, head), h("tbody", {}, rows));
    const causes = [...new Set(section.breakdown.flatMap((r) => Object.keys(r)))]
      .filter((k) => !["year", "total"].includes(k));
    const scale = Math.max(1e-9, ...section.breakdown.map((r) => causes.reduce((a, k) => a + Math.abs(r[k]), 0)));
    const palette = ["#1d4ed8", "#b45309", "#047857", "#9333ea", "#be123c", "#0e7490", "#4d7c0f", "#6b7280"];
    const bars = section.breakdown.map((r) => h("div", { class: "bar-row", dataset: { year: String(r.year) } },
      h("span", { class: "bar-year" }, String(r.year)),
      h("span", { class: "bar" }, ...causes.filter((k) => Math.abs(r[k]) > 0).map((k) => {
        const seg = h("span", { class: "seg", title: `${k}: ${fmtPct(r[k], " pp")}`,
          dataset: { cause: k, value: String(r[k]) } });
        seg.style.width = `${(100 * Math.abs(r[k])) / scale}%`;  // CSSOM, allowed by the page's CSP
        seg.style.background = palette[causes.indexOf(k) % palette.length];
        if (r[k] < 0) seg.style.opacity = "0.45";
        return seg;
      })), h("span", { class: "bar-total" }, `${r.total > 0 ? "+" : ""}${fmtPct(r.total, " pp")}`)));
    const legend = h("div", { class: "legend" }, ...causes.map((k) => legendItem(palette[causes.indexOf(k) %
      palette.length], k.replace("deal:", "deal "), "box")));
    $("breakdown").replaceChildren(...bars, legend);
  }

  // Japan's deals in the custom form: per catalogue deal, its removal or new figures; and deals to add.
  // Blank cells keep the base scenario's figures (the grey values) and are not sent; a figure typed as it
  // already is is no change either, so the request's edits hold only what the analyst changed.
  const DEAL_FIGURES = ["remove", "probability", "units", "tiv_low", "tiv_central", "tiv_high", "delivery_years"];
  const TIV_PARTS = ["tiv_low", "tiv_central", "tiv_high"];
  const DEAL_STATUSES = ["prospect", "selected", "ordered", "delivering"];
  const MAX_ADDED = 20; // as the API's limit on scenario.pipeline.added
  let customDeals = new Map(); // deal id -> the base scenario's deal, as the placeholders show it
  let sentPipeline = { edits: [], added: [] }; // who edits[k] and added[k] of the last request are

  function plain(v) {
    return v == null || !Number.isFinite(v) ? "" : String(Number(v.toPrecision(6)));
  }

  /** Years as typed ("2030, 2031" or "2030-2033"): numbers, and anything else as written (the API names it). */
  function parseYears(text) {
    const years = [];
    for (const token of text.replace(/\s*[-–]\s*/g, "-").split(/[\s,;]+/).filter(Boolean)) {
      const span = /^(\d{4})-(\d{4})$/.exec(token);
      if (span && Number(span[2]) >= Number(span[1]) && Number(span[2]) - Number(span[1]) < 40) {
        for (let y = Number(span[1]); y <= Number(span[2]); y++) years.push(y);
      } else years.push(/^\d+$/.test(token) ? Number(token) : token);
    }
    return years;
  }

  /** 2029, 2030, 2031 as "2029-2031" (what parseYears reads back). */
  function compactYears(years) {
    const runs = [];
    for (const y of [...years].sort((a, b) => a - b)) {
      const last = runs[runs.length - 1];
      if (last && y === last[1] + 1) last[1] = y;
      else runs.push([y, y]);
    }
    return runs.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)).join(", ");
  }

  function sameYears(a, b) {
    const norm = (list) => [...new Set(list)].sort((x, y) => x - y).join(",");
    return a.every((y) => typeof y === "number") && norm(a) === norm(b);
  }

  /** TIV per unit from three cells: a blank bound keeps the base's, or follows the central value where the
   * base has no range on that side (an added deal has none); equal bounds are sent as one number. */
  function readTiv(cells, base) {
    const typed = TIV_PARTS.map((p) => (cells[p].value === "" ? null : Number(cells[p].value)));
    if (typed.every((v) => v == null)) return null;
    const central = typed[1] != null ? typed[1] : base ? base.central : null;
    const bound = (v, side) => (v != null ? v : base && base[side] !== base.central ? base[side] : central);
    const tiv = [bound(typed[0], "low"), central, bound(typed[2], "high")];
    if (base && tiv[0] === base.low && tiv[1] === base.central && tiv[2] === base.high) return null;
    return tiv[0] === tiv[1] && tiv[1] === tiv[2] && tiv[1] != null ? tiv[1] : tiv;
  }

  function dealCell(d, figure) {
    const label = {
      remove: `remove ${d.deal_id}`, probability: `probability of ${d.deal_id}`,
      units: `units ordered of ${d.deal_id}`, tiv_low: `TIV per unit of ${d.deal_id}, low`,
      tiv_central: `TIV per unit of ${d.deal_id}, central`, tiv_high: `TIV per unit of ${d.deal_id}, high`,
      delivery_years: `delivery years of ${d.deal_id}`,
    }[figure];
    const dataset = { deal: d.deal_id, figure };
    if (figure === "remove") {
      return h("input", { type: "checkbox", "aria-label": label, dataset, onchange: () => syncRemoved(d.deal_id) });
    }
    if (figure === "delivery_years") {
      return h("input", { type: "text", class: "years", inputmode: "numeric", autocomplete: "off", spellcheck: "false",
        placeholder: compactYears(d.delivery_years), "aria-label": label, dataset });
    }
    const placeholder = { probability: d.scenario_probability, units: d.units_ordered, tiv_low: d.tiv_per_unit.low,
      tiv_central: d.tiv_per_unit.central, tiv_high: d.tiv_per_unit.high }[figure];
    return h("input", { type: "number", step: "any", min: 0, max: figure === "probability" ? 1 : null,
      inputmode: "decimal", placeholder: plain(placeholder), "aria-label": label, dataset });
  }

  /** A removed deal takes no other change: its other cells are disabled (and kept, should it come back). */
  function syncRemoved(dealId) {
    const row = $("custom-deals-grid").querySelector(`tr[data-deal="${CSS.escape(dealId)}"]`);
    if (!row) return;
    const removed = row.querySelector("input[data-figure='remove']").checked;
    row.classList.toggle("removed", removed);
    for (const input of row.querySelectorAll("input:not([data-figure='remove'])")) input.disabled = removed;
  }

  function renderCustomDeals() {
    const box = $("custom-deals");
    const chosen = entry(state.country, $("custom-base").value || "baseline").body;
    const base = chosen && chosen.pipeline ? chosen : entry(state.country, "baseline").body;
    const deals = base && base.pipeline ? base.pipeline.deals : [];
    box.hidden = !deals.length;
    const grid = $("custom-deals-grid");
    const key = `${state.country}|${(base && base.key) || ""}`;
    if (grid.dataset.key === key) return;
    grid.dataset.key = key;
    const typed = new Map([...grid.querySelectorAll("input")].filter((i) => i.checked || (i.type !== "checkbox" &&
      i.value !== "")).map((i) => [`${i.dataset.deal}|${i.dataset.figure}`, i.type === "checkbox" ? true : i.value]));
    customDeals = new Map(deals.map((d) => [d.deal_id, d]));
    const cols = (...names) => names.map((t) => h("th", { scope: "col" }, t));
    const head = [
      h("tr", {}, h("th", { scope: "col", rowspan: 2 }, "Deal"), ...cols("Remove", "Probability", "Units"),
        h("th", { scope: "colgroup", colspan: 3 }, "TIV million per unit"), ...cols("Delivery years")),
      h("tr", {}, ...cols("", "", "ordered", "low", "central", "high", "")),
    ];
    const rows = deals.map((d) => h("tr", { dataset: { deal: d.deal_id } },
      h("th", { scope: "row", title: d.reasoning || null }, d.system,
        h("small", {}, `${d.deal_id}; ${d.status}${d.depends_on ? `, a line of ${d.depends_on}` : ""}`)),
      ...DEAL_FIGURES.map((f) => h("td", {}, dealCell(d, f)))));
    grid.replaceChildren(h("thead", {}, head), h("tbody", {}, rows));
    for (const input of grid.querySelectorAll("input")) {
      const kept = typed.get(`${input.dataset.deal}|${input.dataset.figure}`);
      if (kept === true) input.checked = true;
      else if (kept != null) input.value = kept;
    }
    for (const d of deals) syncRemoved(d.deal_id);
  }

  function addedField(label, figure, { tag = "input", options = [], ...attrs }) {
    return h("label", {}, label, h(tag, { ...attrs, dataset: { figure } },
      options.map((o) => h("option", { value: o }, o))));
  }

  /** One deal to add, with the figures the API takes for it (blank ones take tivcast's defaults). */
  function addCustomDeal() {
    const list = $("custom-added");
    if (list.children.length >= MAX_ADDED) return;
    const block = h("fieldset", { class: "added-deal" }, h("legend", {}, ""),
      h("div", { class: "form-row" },
        addedField("Deal id", "deal_id", { type: "text", maxlength: 64, autocomplete: "off", spellcheck: "false",
          placeholder: "e.g. nzl-frigates" }),
        addedField("Recipient (ISO3)", "recipient", { type: "text", maxlength: 3, size: 4, autocomplete: "off",
          spellcheck: "false", placeholder: "NZL", class: "iso3" }),
        addedField("System", "system", { type: "text", maxlength: 200, autocomplete: "off" }),
        addedField("Status", "status", { tag: "select", options: DEAL_STATUSES })),
      h("div", { class: "form-row" },
        addedField("Order year", "order_year", { type: "number", step: 1, min: 1950, max: 2100, inputmode: "numeric",
          class: "short" }),
        addedField("Units ordered", "units_ordered", { type: "number", step: "any", min: 0, inputmode: "decimal",
          placeholder: "1", class: "short" }),
        addedField("Probability", "probability", { type: "number", step: "any", min: 0, max: 1, inputmode: "decimal",
          placeholder: "0.5", class: "short" }),
        addedField("Slip probability", "slip_probability", { type: "number", step: "any", min: 0, max: 0.95,
          inputmode: "decimal", placeholder: "0", class: "short" })),
      h("div", { class: "form-row" },
        addedField("TIV per unit: low", "tiv_low", { type: "number", step: "any", min: 0, inputmode: "decimal",
          class: "short" }),
        addedField("central", "tiv_central", { type: "number", step: "any", min: 0, inputmode: "decimal",
          class: "short", "aria-label": "TIV per unit, central" }),
        addedField("high", "tiv_high", { type: "number", step: "any", min: 0, inputmode: "decimal", class: "short",
          "aria-label": "TIV per unit, high" }),
        addedField("Delivery years", "delivery_years", { type: "text", inputmode: "numeric", autocomplete: "off",
          spellcheck: "false", placeholder: "2031, 2032", class: "years" }),
        h("button", { type: "button", class: "secondary", dataset: { action: "discard" }, onclick: () => {
          block.remove();
          numberAddedDeals();
        } }, "Discard")));
    list.append(block);
    numberAddedDeals();
    block.querySelector("input").focus();
  }

  function numberAddedDeals() {
    const blocks = [...$("custom-added").children];
    blocks.forEach((b, i) => {
      b.querySelector("legend").textContent = `Added deal ${i + 1}`;
      b.querySelector("[data-action='discard']").setAttribute("aria-label", `discard added deal ${i + 1}`);
    });
    $("custom-add").disabled = blocks.length >= MAX_ADDED;
  }

  /** The pipeline part of the request: edits of catalogue deals (only the figures changed) and added deals;
   * each cell sent is told its field in the request, so that a 422 naming that field marks it. */
  function readPipeline() {
    const edits = [];
    sentPipeline = { edits: [], added: [] };
    for (const row of $("custom-deals-grid").querySelectorAll("tr[data-deal]")) {
      const d = customDeals.get(row.dataset.deal);
      const cells = {};
      for (const input of row.querySelectorAll("input")) {
        input.classList.remove("invalid");
        delete input.dataset.field;
        cells[input.dataset.figure] = input;
      }
      if (!d) continue;
      const at = `scenario.pipeline.edits[${edits.length}]`;
      const edit = { deal_id: d.deal_id };
      const sent = (figure, key, value) => {
        edit[key] = value;
        cells[figure].dataset.field = `${at}.${key}`;
      };
      if (cells.remove.checked) sent("remove", "remove", true);
      else {
        const p = cells.probability.value;
        if (p !== "" && Number(p) !== d.scenario_probability) sent("probability", "probability", Number(p));
        const u = cells.units.value;
        if (u !== "" && Number(u) !== d.units_ordered) sent("units", "units", Number(u));
        const tiv = readTiv(cells, d.tiv_per_unit);
        if (tiv != null) {
          edit.tiv_per_unit = tiv;
          TIV_PARTS.forEach((part, i) => { cells[part].dataset.field = `${at}.tiv_per_unit[${i}]`; });
        }
        const y = cells.delivery_years.value.trim();
        if (y !== "" && !sameYears(parseYears(y), d.delivery_years)) {
          sent("delivery_years", "delivery_years", parseYears(y));
        }
      }
      if (Object.keys(edit).length > 1) {
        edits.push(edit);
        sentPipeline.edits.push(`deal ${d.deal_id}`);
      }
    }
    const added = [];
    for (const block of $("custom-added").children) {
      const cells = {};
      for (const input of block.querySelectorAll("input, select")) {
        input.classList.remove("invalid");
        delete input.dataset.field;
        cells[input.dataset.figure] = input;
      }
      const typed = Object.entries(cells).filter(([f, i]) => f !== "status" && i.value.trim() !== "");
      if (!typed.length) continue; // an untouched block is no deal
      const at = `scenario.pipeline.added[${added.length}]`;
      const deal = {};
      for (const [figure, input] of typed) {
        const v = input.value.trim();
        if (TIV_PARTS.includes(figure)) continue;
        if (figure === "delivery_years") deal.delivery_years = parseYears(v);
        else if (["deal_id", "system"].includes(figure)) deal[figure] = v;
        else if (figure === "recipient") deal.recipient = v.toUpperCase();
        else deal[figure] = Number(v);
      }
      deal.status = cells.status.value;
      const tiv = readTiv(cells, null);
      if (tiv != null) deal.tiv_per_unit = tiv;
      for (const [figure, input] of Object.entries(cells)) {
        const i = TIV_PARTS.indexOf(figure);
        input.dataset.field = i >= 0 ? `${at}.tiv_per_unit[${i}]` : `${at}.${figure}`;
      }
      added.push(deal);
      sentPipeline.added.push(block.querySelector("legend").textContent.toLowerCase());
    }
    return { edits, added };
  }

  /** What a 422's field is, for the status line: the field as the API names it, and whose it is. */
  function describeField(field) {
    const m = /^scenario\.pipeline\.(edits|added)\[(\d+)\]/.exec(field);
    const who = m ? sentPipeline[m[1]][Number(m[2])] : null;
    return who ? `${field}, ${who}` : field;
  }

  function driverInfo(body, name) {
    const d = body && body.model && body.model.drivers && body.model.drivers[name];
    return { title: (d && d.title) || (DRIVER_FALLBACK[name] || {}).title || name,
      unit: (d && d.unit) || (DRIVER_FALLBACK[name] || {}).unit || "" };
  }

  let gridSignature = "";
  /** The custom-scenario grid: one row per driver of the country's model, one column per forecast year. */
  function renderCustomGrid(force) {
    const baseSel = $("custom-base");
    const applicableBases = state.scenarios.filter((s) => applicable(s, state.country));
    const baseNames = applicableBases.map((s) => s.name).join(",");
    if (baseSel.dataset.names !== baseNames) {
      const keep = baseSel.value;
      baseSel.replaceChildren(...applicableBases.map((s) => h("option", { value: s.name }, s.name)));
      baseSel.value = applicableBases.some((s) => s.name === keep) ? keep : "baseline";
      baseSel.dataset.names = baseNames;
    }
    const base = entry(state.country, baseSel.value || "baseline").body || entry(state.country, "baseline").body;
    const drivers = base ? Object.keys(base.model.drivers) :
      state.country === "JPN" ? ["export_policy_openness", "japan_defence_spending", "world_military_expenditure"]
        : ["world_military_expenditure"];
    const lastObserved = Math.max(2024, ...[...historyOf(state.country).keys()]);
    const years = base ? base.forecast.map((r) => r.year) : Array.from({ length: 10 }, (_, i) => lastObserved + 1 + i);
    const signature = `${state.country}|${drivers}|${years}|${base ? base.key : ""}`;
    if (!force && signature === gridSignature) return;
    gridSignature = signature;
    const grid = $("custom-grid");
    const typed = new Map([...grid.querySelectorAll("input")].filter((i) => i.value !== "")
      .map((i) => [`${i.dataset.driver}|${i.dataset.year}`, i.value]));
    const head = h("tr", {}, h("th", { scope: "col" }, "Driver"), ...years.map((y) => h("th", { scope: "col" }, String(y))));
    const rows = drivers.map((d) => {
      const info = driverInfo(base, d);
      const byYear = new Map(base ? base.forecast.map((r) => [r.year, r.drivers ? r.drivers[d] : null]) : []);
      return h("tr", {}, h("th", { scope: "row" }, info.title, h("small", {}, info.unit)),
        ...years.map((y) => h("td", {}, h("input", {
          type: "number", step: "any", min: d === "export_policy_openness" ? 0 : null,
          max: d === "export_policy_openness" ? 1 : null, inputmode: "decimal",
          "aria-label": `${info.title}, ${y}`, dataset: { driver: d, year: String(y),
            field: `scenario.drivers.${d}[${y}]` },
          placeholder: byYear.get(y) != null ? fmtNum(byYear.get(y)) : "",
          value: typed.get(`${d}|${y}`) || null,
        }))));
    });
    grid.replaceChildren(h("thead", {}, head), h("tbody", {}, rows));
  }

  /** The form as a custom scenario: for each driver with values, a level path by year. Years before the
   * first value keep the base scenario's values (stated explicitly, as a level path otherwise starts from
   * the last observation); from the first value on, blanks hold the last value or are interpolated. */
  function readCustomForm() {
    const name = $("custom-name").value.trim();
    const base = $("custom-base").value || "baseline";
    const fill = $("custom-fill").value;
    const baseBody = entry(state.country, base).body;
    const typed = {};
    for (const input of $("custom-grid").querySelectorAll("input")) {
      input.classList.remove("invalid");
      if (input.value === "") continue;
      (typed[input.dataset.driver] = typed[input.dataset.driver] || {})[input.dataset.year] = Number(input.value);
    }
    const drivers = {};
    for (const [d, values] of Object.entries(typed)) {
      const first = Math.min(...Object.keys(values).map(Number));
      const path = {};
      for (const r of baseBody ? baseBody.forecast : []) {
        if (r.year < first && r.drivers && r.drivers[d] != null) path[String(r.year)] = r.drivers[d];
      }
      drivers[d] = { mode: "level", values: { ...path, ...values }, fill };
    }
    const scenario = { name, base, drivers };
    sentPipeline = { edits: [], added: [] };
    if ($("custom-deals").hidden) return scenario; // Japan's deals only: the form shows them for JPN alone
    const { edits, added } = readPipeline();
    const elasticityInput = $("custom-elasticity");
    elasticityInput.classList.remove("invalid");
    const elasticity = elasticityInput.value;
    if (edits.length || added.length || elasticity !== "") {
      scenario.pipeline = { edits };
      if (added.length) scenario.pipeline.added = added;
      if (elasticity !== "") scenario.pipeline.elasticity = Number(elasticity);
    }
    return scenario;
  }

  async function onCustomSubmit(ev) {
    ev.preventDefault();
    const status = $("custom-status");
    const scenario = readCustomForm();
    if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(scenario.name)) {
      status.dataset.state = "error";
      status.textContent = "Name: lower-case letters, digits, '-' or '_' (not a built-in name).";
      $("custom-name").classList.add("invalid");
      return;
    }
    $("custom-name").classList.remove("invalid");
    if (!Object.keys(scenario.drivers).length && !scenario.pipeline) {
      status.dataset.state = "error";
      status.textContent = $("custom-deals").hidden ? "Give at least one driver value for a year." :
        "Give at least one driver value for a year, or change a deal.";
      return;
    }
    const request = { target: { country: state.country, measure: "share" }, scenario, horizon: HORIZON };
    let customs = state.custom.get(state.country);
    if (!customs) state.custom.set(state.country, (customs = new Map()));
    const old = customs.get(scenario.name);
    const c = { name: scenario.name, country: state.country, request, body: old ? old.body : null, etag: null,
      state: "loading", detail: "", job: null, checked: null, nextAt: null, lastStatus: null, follower: null };
    customs.set(scenario.name, c);
    if (old && old.follower) old.follower.stop();
    state.scenario = scenario.name;
    syncUrl();
    renderScenarioSelect();
    changed(true);
    await submitCustom(request, c);
  }

  async function submitCustom(request, c) {
    const status = $("custom-status");
    const button = $("custom-submit");
    button.disabled = true;
    status.dataset.state = "computing";
    status.textContent = "Posting the scenario…";
    let response = null;
    try {
      response = await fetch("/v1/forecasts", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(request),
      });
    } catch (_) {
      response = null;
    }
    button.disabled = false;
    if (!response) {
      c.state = "unavailable";
      status.dataset.state = "unavailable";
      status.textContent = "The API did not answer; try again in a moment.";
      changed(true);
      return;
    }
    const body = await bodyOf(response);
    if (response.status === 200 && body && body.forecast) {
      c.body = body;
      c.etag = response.headers.get("ETag");
      c.state = "ready";
      status.dataset.state = "ready";
      status.textContent = `Drawn: ${c.name} (already computed).`;
      changed(true);
      return;
    }
    if (response.status === 202 && body) {
      c.state = "computing";
      c.job = body;
      status.dataset.state = "computing";
      status.textContent = `Computing ${c.name}… it is drawn as soon as it is ready.`;
      const location = response.headers.get("Location") || `/v1/forecasts/${body.key}`;
      const follower = new Poller(location, c, { once: true, onUpdate: customStatus });
      c.follower = follower;
      followers.add(follower);
      const after = retryAfterSeconds(response);
      follower.schedule(after == null ? FIRST_RETRY : Math.max(1, after), false);
      changed(true);
      return;
    }
    const busy = response.status === 503 || response.status === 429;
    c.state = busy ? "unavailable" : "error";
    c.detail = (body && body.detail) || `HTTP ${response.status}`;
    status.dataset.state = c.state;
    if (busy) {
      const after = retryAfterSeconds(response);
      status.textContent = (response.status === 429 ? "Too many forecasts requested in a short time" :
        "The forecast service is unavailable at the moment") +
        `; please submit again ${after ? `in ${Math.ceil(after)} s` : "shortly"}.`;
      if (!c.body) removeCustom(c.name, false);
    } else {
      // The API's message, with the field it names (and whose it is) where the message itself does not say.
      const named = ((body && body.errors) || []).map((e) => e.field).filter(Boolean)
        .map((f) => (c.detail.includes(f) ? describeField(f).slice(f.length + 2) : describeField(f)))
        .filter(Boolean);
      status.textContent = named.length ? `${c.detail} (${[...new Set(named)].join("; ")})` : c.detail;
      let first = true;
      for (const err of (body && body.errors) || []) first = !markInvalid(err.field, first) && first;
      if (!c.body) removeCustom(c.name, false);
    }
    changed(true);
  }

  /** The form's status line follows the custom forecast being computed. */
  function customStatus(c) {
    const status = $("custom-status");
    const shown = state.custom.get(state.country);
    if (!shown || shown.get(c.name) !== c) return; // another country's, or replaced meanwhile
    status.dataset.state = c.state;
    if (c.state === "ready") status.textContent = `Drawn: ${c.name}.`;
    else if (c.state === "computing") status.textContent = `Computing ${c.name}… it is drawn as soon as it is ready.`;
    else if (c.state === "error") status.textContent = `The ${c.name} forecast failed: ${c.detail}`;
    else status.textContent = `The forecast service is away for a moment; still trying for ${c.name}.`;
  }

  /** Whether an input sent ``own`` (its data-field) is what a 422's ``field`` names: the same field, a part of
   * it (a year of its list), or a part of the deal or figure the field names (e.g. edits[0].tiv_per_unit). */
  function fieldNames(field, own) {
    if (!own) return false;
    if (field === own || field.startsWith(`${own}[`) || field.startsWith(`${own}.`)) return true;
    return /^scenario\.pipeline\.(edits|added)\[\d+\]/.test(field) &&
      (own.startsWith(`${field}[`) || own.startsWith(`${field}.`));
  }

  /** Marks the inputs a 422's field names (focusing the first if ``focus``); whether any was. */
  function markInvalid(field, focus = true) {
    if (!field) return false;
    let marked = false;
    if (field === "scenario.name") {
      $("custom-name").classList.add("invalid");
      marked = true;
    }
    for (const input of [...$("custom-grid").querySelectorAll("input"),
      ...$("custom-deals").querySelectorAll("input, select")]) {
      if (!input.disabled && (fieldNames(field, input.dataset.field) ||
          field.startsWith(`scenario.drivers.${input.dataset.driver}[${input.dataset.year}]`))) {
        input.classList.add("invalid");
        if (focus && !marked) input.focus();
        marked = true;
      }
    }
    return marked;
  }

  function removeCustom(name, rerender = true) {
    const customs = state.custom.get(state.country);
    if (!customs || !customs.has(name)) return;
    const c = customs.get(name);
    if (c.follower) {
      c.follower.stop();
      followers.delete(c.follower);
    }
    customs.delete(name);
    if (state.scenario === name) state.scenario = "baseline";
    syncUrl();
    renderScenarioSelect();
    if (rerender) changed(true);
  }

  function renderEvents() {
    const list = $("events");
    list.replaceChildren(...state.events.map((e) =>
      h("li", { class: e.regime ? "regime" : "context", value: e.n, dataset: { category: e.category } },
        h("span", { class: "event-date" }, e.date),
        h("span", { class: "badge" }, e.category.replace(/_/g, " ")),
        h("span", { class: "event-title" }, e.title),
        e.sources && e.sources.length ? h("span", { class: "event-sources" },
          ...e.sources.map((src, i) => h("a", { href: src, rel: "noopener noreferrer", target: "_blank" },
            `source ${i + 1}`))) : null)));
  }

  function renderProvenance() {
    const dl = $("provenance");
    const ds = state.dataset;
    const s = selectedShown();
    const body = s && s.entry.body;
    const items = [];
    const add = (term, ...desc) => items.push(h("dt", {}, term), h("dd", {}, ...desc));
    if (ds) {
      add("Data source", ds.citation);
      add("Data release", `${ds.release.release_id} (published ${ds.release.published || "?"}, retrieved ` +
        `${ds.release.retrieved || "?"}); dataset version ${shortHash(ds.version, 16)}`,
      " · ", h("a", { href: "/v1/datasets/arms-exports" }, "provenance (JSON)"));
      add("Unit", ds.unit_label || ds.unit, ". ", (state.sharesMeta && state.sharesMeta.measure) || "");
    }
    add("2024 caveat", "SIPRI publishes no world total for 2024 here: tivcast divides 2024 exports by the sum of " +
      "the 44 suppliers SIPRI lists for 2024, a lower bound of the world total, so 2024 shares are upper bounds " +
      "(marked * on the charts). Up to 2023 the denominator is SIPRI's own world total.");
    if (body) {
      const m = body.model || {};
      add("Forecast", `data version `, h("code", { id: "data-version" }, body.data_version), `, model version `,
        h("code", { id: "model-version" }, body.model_version),
        m.engine ? `, ${Object.entries(m.engine).map(([k, v]) => `${k} ${v}`).join(", ")}` : "",
        " · ", h("a", { href: `/v1/forecasts/${body.key}` }, `result ${shortHash(body.key, 10)} (JSON)`));
      if (m.members) {
        add("Method", h("span", { id: "model-method" }, `${m.method || "ensemble"}: ` +
          Object.entries(m.members).map(([k, v]) => `${k} ${Math.round(v.weight * 1000) / 10} %`).join(", ") +
          ". " + ((m.coherence && m.coherence.rule) || "")));
      }
      const acc = m.accuracy && m.accuracy.this_supplier;
      const inTiv = m.accuracy && m.accuracy.measure === "tiv";
      const world = body.target.country === "WLD";
      if (acc) {
        const verb = acc.beats_it ? "beats" : "does not beat";
        add("Held-out accuracy", h("span", { id: "model-accuracy" },
          `MASE ${acc.mase.toFixed(2)} against ${acc.benchmark_mase.toFixed(2)} for ${acc.best_simple_benchmark} ` +
          `(ratio ${acc.ratio.toFixed(2)}): the served forecast ${verb} the better of last value and the 5-year ` +
          `mean for ${world ? "the world total" : "this country"}${inTiv ? " in TIV" : ""}, horizons 1-5, origins ` +
          `${m.accuracy.evaluated_on.first_scored}-${m.accuracy.evaluated_on.last}. ` +
          (body.pipeline && m.accuracy.what_was_scored ? `Scored: ${m.accuracy.what_was_scored}. ` : "")),
          h("a", { href: `/v1/backtests?country=${body.target.country}&measure=${inTiv ? "tiv" : "share"}` },
            "backtest (JSON)"));
      }
      const cal = m.accuracy && m.accuracy.interval_calibration;
      if (cal) {
        const rows = Object.values(cal);
        const lo = Math.min(...rows.map((r) => r.measured_80)), hi = Math.max(...rows.map((r) => r.measured_80));
        add("Interval", h("span", { id: "model-calibration" }, `${m.interval || ""}. Nominal 80 %: measured ` +
          `${Math.round(lo * 100)}-${Math.round(hi * 100)} % across horizons 1-10 ` +
          (world ? "(the world total's own forecasts)" : `(all suppliers pooled${inTiv ? ", in TIV" : ""})`) +
          (!world && acc && acc.interval_coverage && acc.interval_coverage.measured_80 != null
            ? `; for this country ${Math.round(acc.interval_coverage.measured_80 * 100)} % (horizons 1-5)` : "") +
          ". " + (m.accuracy.interval_note ? m.accuracy.interval_note + " " : "") +
          "Intervals do not include uncertainty about the scenario's own driver paths."));
      }
      const own = Object.entries(m.drivers || {});
      if (own.length) {
        const test = (v) => !v.held_out ? "not tested" :
          `perfect-foresight test: ${v.improved_held_out ? "its true path lowered" : "even its true path did not lower"}` +
          ` the held-out MASE, ${v.held_out.mase_perfect_foresight.toFixed(3)} against ${v.held_out.mase_baseline.toFixed(3)}`;
        add("Drivers", h("span", { id: "model-drivers" }, "not in the baseline; scenario differences only, as " +
          "assumptions: " + own.map(([k, v]) => `${k} (coefficient ${v.coefficient_per_step.toFixed(3)} per step; ` +
          `${test(v)})`).join(", ") + "."));
      }
    } else {
      add("Forecast", "data and model versions appear with the first forecast.");
    }
    if (state.eventsMeta) add("Policy timeline", `release ${state.eventsMeta.release}, curated from official ` +
      "statements and white papers (each event links its sources).");
    dl.replaceChildren(...items);
  }

  // ---------------------------------------------------------------------------------------------
  // Selection

  function renderCountrySelect() {
    const sel = $("country");
    const first = COMPARE.filter((c) => state.coverage.includes(c));
    const rest = state.coverage.filter((c) => !COMPARE.includes(c))
      .sort((a, b) => countryName(a).localeCompare(countryName(b)));
    sel.replaceChildren(
      h("optgroup", { label: "Featured" }, ...first.map((c) => h("option", { value: c }, countryName(c)))),
      h("optgroup", { label: "Other suppliers" }, ...rest.map((c) => h("option", { value: c }, countryName(c)))),
    );
    sel.value = state.country;
  }

  function renderScenarioSelect() {
    const sel = $("scenario");
    const builtins = state.scenarios.filter((s) => applicable(s, state.country));
    const customs = [...(state.custom.get(state.country) || new Map()).values()];
    sel.replaceChildren(
      h("optgroup", { label: "Built-in" }, ...builtins.map((s) => h("option", { value: s.name, title: s.title },
        `${s.name}: ${s.title.split(":").slice(1).join(":").trim() || s.title}`))),
      customs.length ? h("optgroup", { label: "Yours" }, ...customs.map((c) => h("option", { value: c.name }, c.name)))
        : null,
    );
    sel.value = state.scenario;
  }

  function syncUrl() {
    const q = new URLSearchParams(location.search);
    q.set("country", state.country);
    q.set("scenario", state.scenario);
    q.set("from", String(state.from));
    history.replaceState(null, "", `${location.pathname}?${q}`);
  }

  function select(name) {
    if (name === state.scenario) return;
    state.scenario = name;
    $("scenario").value = name;
    syncUrl();
    changed(true);
  }

  async function setCountry(code) {
    state.country = code;
    $("custom-status").textContent = "";
    delete $("custom-status").dataset.state;
    const ok = shownScenarios().some((s) => s.name === state.scenario);
    if (!ok) state.scenario = "baseline";
    renderScenarioSelect();
    syncUrl();
    wantPollers();
    changed(true);
    await loadShares(compareCountries());
    changed(true);
  }

  // ---------------------------------------------------------------------------------------------
  // Start

  async function main() {
    $("country").addEventListener("change", (ev) => setCountry(ev.target.value));
    $("scenario").addEventListener("change", (ev) => select(ev.target.value));
    $("from").value = String(state.from);
    if ($("from").value !== String(state.from)) {
      state.from = 1990;
      $("from").value = "1990";
    }
    $("from").addEventListener("change", (ev) => {
      state.from = Number(ev.target.value);
      syncUrl();
      changed(true);
    });
    $("custom-form").addEventListener("submit", onCustomSubmit);
    $("custom-base").addEventListener("change", () => {
      renderCustomGrid(true);
      renderCustomDeals();
    });
    $("custom-add").addEventListener("click", addCustomDeal);
    $("custom-clear").addEventListener("click", () => {
      for (const input of $("custom-grid").querySelectorAll("input")) input.value = "";
      for (const input of $("custom-deals-grid").querySelectorAll("input")) {
        if (input.type === "checkbox") input.checked = false;
        else input.value = "";
      }
      for (const d of customDeals.keys()) syncRemoved(d);
      $("custom-added").replaceChildren();
      numberAddedDeals();
    });
    resizer.observe($("main-chart"));
    resizer.observe($("compare-chart"));
    setInterval(() => { if (!document.hidden) renderStatus(); }, 1000);

    const [scenarios, countries, dataset] = await Promise.all([
      getJSON("/v1/scenarios"), getJSON("/v1/countries"), getJSON("/v1/datasets/arms-exports"),
    ]);
    state.scenarios = scenarios.data;
    for (const c of countries.data) state.names[c.code] = c.name;
    state.dataset = dataset;
    state.coverage = dataset.coverage.countries.filter((c) => c !== "WLD");
    if (!state.coverage.includes(state.country)) state.country = "JPN";
    if (!state.scenarios.some((s) => s.name === state.scenario && applicable(s, state.country))) {
      state.scenario = "baseline";
    }
    renderCountrySelect();
    renderScenarioSelect();
    syncUrl();
    wantPollers(); // forecasts start loading (or computing) while the history loads
    changed(true);
    await Promise.all([loadShares(compareCountries()), loadReference()]);
    changed(true);
  }

  main().catch((err) => {
    showBanner("main", `The dashboard could not start: ${err.message}`);
  });
})();
