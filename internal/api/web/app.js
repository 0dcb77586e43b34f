"use strict";
const I18N = {
  ko: {
    nav_search: "검색", nav_rankings: "순위", nav_trending: "급상승", nav_dashboard: "파이프라인", toggle: "English",
    placeholder: "검색어 (예: 초등영어)", sort_views: "조회수순", sort_relevance: "관련도순", sort_recent: "최신순",
    f_title: "제목", f_tags: "태그", f_channel: "채널", f_description: "설명", initials: "초성", layout: "한/영 자판",
    min_views: "최소 조회수", after: "게시일 이후", category: "카테고리 ID", language: "언어",
    c_title: "제목", c_channel: "채널", c_views: "조회수", c_published: "게시일", more: "더 보기",
    summary: (n, rel, ms) => `${rel === "gte" ? n.toLocaleString() + "건 이상" : n.toLocaleString() + "건"} · ${ms} ms`,
    channels_found: "채널", subscribers: "구독자", views: "조회수", videos: "동영상", likes: "좋아요", comments: "댓글",
    sub_growth: "구독자 추이", view_growth: "조회수 추이", view_history: "조회수 기록", channel_videos: "채널 동영상",
    no_history: "레이크에 아직 기록이 없습니다", loading: "불러오는 중…", not_found: "찾을 수 없습니다",
    rankings: "채널 순위", by: "기준", by_subscribers: "구독자 수", by_subscriber_growth: "구독자 증가", by_view_growth: "조회수 증가",
    days: "기간(일)", country: "국가", rank: "순위", growth: "증가", apply: "적용",
    trending: "급상승 동영상 (조회수 속도)", hours: "기간(시간)", per_hour: "시간당 조회수", gained: "증가",
    dashboard: "파이프라인 현황", throughput: "처리량 (레코드/초)", quota: "할당량", quota_left: "남은 할당량", reset: "초기화",
    stream_lag: "스트림 지연 (대기 메시지)", collection_lag: "수집 지연", tier: "등급", channels: "채널 수", lag_p50: "지연 p50", lag_p90: "지연 p90", lag_max: "최대 지연",
    errors: "오류 (사유별)", index_size: "색인", docs: "문서", memory: "메모리", no_errors: "오류 없음", collector_tiers: "수집기 등급별 지연",
    items: "항목", overdue: "지연 항목", no_data: "데이터 없음", api_key: "API 키가 필요합니다. 키를 입력하세요:", published: "게시일", fetched: "수집 시각",
  },
  en: {
    nav_search: "Search", nav_rankings: "Rankings", nav_trending: "Trending", nav_dashboard: "Pipeline", toggle: "한국어",
    placeholder: "Search (e.g. 초등영어)", sort_views: "Most viewed", sort_relevance: "Relevance", sort_recent: "Newest",
    f_title: "Title", f_tags: "Tags", f_channel: "Channel", f_description: "Description", initials: "Initials", layout: "KO/EN layout",
    min_views: "Min views", after: "Published after", category: "Category id", language: "Language",
    c_title: "Title", c_channel: "Channel", c_views: "Views", c_published: "Published", more: "More",
    summary: (n, rel, ms) => `${rel === "gte" ? "≥ " : ""}${n.toLocaleString()} results · ${ms} ms`,
    channels_found: "Channels", subscribers: "Subscribers", views: "Views", videos: "Videos", likes: "Likes", comments: "Comments",
    sub_growth: "Subscriber growth", view_growth: "View growth", view_history: "View history", channel_videos: "Videos",
    no_history: "No history in the lake yet", loading: "Loading…", not_found: "Not found",
    rankings: "Channel rankings", by: "By", by_subscribers: "Subscribers", by_subscriber_growth: "Subscriber growth", by_view_growth: "View growth",
    days: "Window (days)", country: "Country", rank: "#", growth: "Growth", apply: "Apply",
    trending: "Trending videos (view velocity)", hours: "Window (hours)", per_hour: "Views / hour", gained: "Gained",
    dashboard: "Pipeline", throughput: "Throughput (records/s)", quota: "Quota", quota_left: "Quota left", reset: "resets",
    stream_lag: "Stream lag (pending messages)", collection_lag: "Collection lag", tier: "Tier", channels: "Channels", lag_p50: "Lag p50", lag_p90: "Lag p90", lag_max: "Max lag",
    errors: "Errors by reason", index_size: "Index", docs: "Docs", memory: "Memory", no_errors: "No errors", collector_tiers: "Collector lag per tier",
    items: "Items", overdue: "Overdue", no_data: "No data", api_key: "This server requires an API key. Enter it:", published: "Published", fetched: "Fetched",
  },
};
let lang = localStorage.getItem("lang") || (navigator.language || "ko").slice(0, 2);
if (!I18N[lang]) lang = "en";
const T = (k) => I18N[lang][k] ?? k;
const $ = (s, root) => (root || document).querySelector(s);
const $$ = (s, root) => [...(root || document).querySelectorAll(s)];
const view = $("#view");
function esc(s) { return String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c])); }
function num(v) { return v === null || v === undefined ? "—" : Number(v).toLocaleString(); }
function dur(s) {
  if (s === null || s === undefined) return "—";
  if (s < 90) return Math.round(s) + "s";
  if (s < 5400) return Math.round(s / 60) + "m";
  if (s < 172800) return (s / 3600).toFixed(1) + "h";
  return (s / 86400).toFixed(1) + "d";
}
function applyLang() {
  document.documentElement.lang = lang;
  $$("[data-i18n]").forEach((el) => { el.textContent = T(el.dataset.i18n); });
  $$("[data-i18n-placeholder]").forEach((el) => { el.placeholder = T(el.dataset.i18nPlaceholder); });
  $("#lang-toggle").textContent = T("toggle");
}
// api fetches JSON, asking once for an API key when the server wants one.
async function api(path) {
  const headers = {};
  const key = localStorage.getItem("apikey");
  if (key) headers["X-API-Key"] = key;
  let res = await fetch(path, {headers});
  if (res.status === 401) {
    const k = prompt(T("api_key"));
    if (k) { localStorage.setItem("apikey", k.trim()); res = await fetch(path, {headers: {"X-API-Key": k.trim()}}); }
  }
  const body = await res.json().catch(() => ({error: {code: "bad_response", message: res.statusText}}));
  if (!res.ok) { const e = new Error(body.error ? body.error.message : res.statusText); e.status = res.status; throw e; }
  return body;
}
function errBox(e) { return `<p class="err">${esc(e.message)}</p>`; }
function videoRow(v) {
  return `<tr><td>${v.thumbnail_url ? `<img class="thumb" loading="lazy" src="${esc(v.thumbnail_url)}" alt="">` : ""}</td>` +
    `<td><a href="#/video/${esc(v.id)}">${esc(v.title)}</a></td><td><a href="#/channel/${esc(v.channel_id)}" class="chan">${esc(v.channel_title)}</a></td>` +
    `<td class="num">${num(v.view_count)}</td><td>${esc((v.published_at || "").slice(0, 10))}</td></tr>`;
}
function videoTable() {
  return `<table class="results" hidden><thead><tr><th></th><th data-i18n="c_title">${T("c_title")}</th><th data-i18n="c_channel">${T("c_channel")}</th>` +
    `<th class="num" data-i18n="c_views">${T("c_views")}</th><th data-i18n="c_published">${T("c_published")}</th></tr></thead><tbody></tbody></table>`;
}

// ---- search page ----
let searchState = {q: "", sort: "views"};
function pageSearch(params) {
  view.innerHTML = `
  <form id="search" autocomplete="off">
    <input id="q" name="q" type="search" data-i18n-placeholder="placeholder" placeholder="${esc(T("placeholder"))}" autofocus>
    <select id="sort"><option value="views" data-i18n="sort_views"></option><option value="relevance" data-i18n="sort_relevance"></option><option value="recent" data-i18n="sort_recent"></option></select>
    <span class="fields">
      <label><input type="checkbox" name="in" value="title" checked> <span data-i18n="f_title"></span></label>
      <label><input type="checkbox" name="in" value="tags"> <span data-i18n="f_tags"></span></label>
      <label><input type="checkbox" name="in" value="channel"> <span data-i18n="f_channel"></span></label>
      <label><input type="checkbox" name="in" value="description"> <span data-i18n="f_description"></span></label>
      <label><input type="checkbox" id="initials"> <span data-i18n="initials"></span></label>
      <label><input type="checkbox" id="layout"> <span data-i18n="layout"></span></label>
    </span>
    <span class="filters">
      <label><span data-i18n="min_views"></span> <input id="min_views" type="number" min="0" step="1000" style="width:8em"></label>
      <label><span data-i18n="after"></span> <input id="published_after" type="date"></label>
      <label><span data-i18n="category"></span> <input id="category_id" size="3"></label>
      <label><span data-i18n="language"></span> <input id="language" size="4" placeholder="ko"></label>
    </span>
  </form>
  <div id="chanhits"></div>
  <p id="summary" class="muted"></p>
  ${videoTable()}
  <p><button id="more" hidden data-i18n="more"></button></p>`;
  applyLang();
  const q = params.get("q") || searchState.q;
  $("#q").value = q;
  $("#sort").value = params.get("sort") || searchState.sort;
  let timer, cursor = "", seq = 0;
  async function run(append) {
    const q = $("#q").value.trim();
    const my = ++seq;
    searchState = {q, sort: $("#sort").value};
    if (!q) { $(".results").hidden = true; $("#summary").textContent = ""; $("#more").hidden = true; $("#chanhits").innerHTML = ""; return; }
    const p = new URLSearchParams({q, sort: $("#sort").value, limit: "20"});
    const fields = $$("input[name=in]:checked").map((e) => e.value);
    if (fields.length) p.set("in", fields.join(","));
    if ($("#initials").checked) p.set("initials", "true");
    if ($("#layout").checked) p.set("layout", "true");
    for (const f of ["min_views", "published_after", "category_id", "language"]) { const v = $("#" + f).value.trim(); if (v) p.set(f, v); }
    if (append && cursor) p.set("cursor", cursor);
    history.replaceState(null, "", "#/?" + new URLSearchParams({q, sort: $("#sort").value}));
    let body;
    try { body = await api("/v1/videos/search?" + p); } catch (e) { if (my === seq) $("#summary").innerHTML = errBox(e); return; }
    if (my !== seq) return;
    const tb = $(".results tbody");
    if (!append) tb.innerHTML = "";
    tb.insertAdjacentHTML("beforeend", body.items.map(videoRow).join(""));
    $(".results").hidden = false;
    $("#summary").textContent = T("summary")(body.total, body.total_relation, (body.took_us / 1000).toFixed(2));
    cursor = body.next_cursor || "";
    $("#more").hidden = !cursor;
    if (!append) {
      const cp = new URLSearchParams({q, limit: "6"});
      if ($("#initials").checked) cp.set("initials", "true");
      if ($("#layout").checked) cp.set("layout", "true");
      api("/v1/channels/search?" + cp).then((cb) => {
        if (my !== seq) return;
        $("#chanhits").innerHTML = cb.items.length ? `<div class="chips"><span class="muted">${T("channels_found")}:</span> ` +
          cb.items.map((c) => `<a class="chip" href="#/channel/${esc(c.id)}">${esc(c.title)} <small>${c.subscriber_count != null ? fmtNum(c.subscriber_count) : ""}</small></a>`).join("") + "</div>" : "";
      }).catch(() => {});
    }
  }
  $("#search").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => run(false), 120); });
  $("#search").addEventListener("submit", (e) => { e.preventDefault(); run(false); });
  $("#more").addEventListener("click", () => run(true));
  if (q) run(false);
}

// ---- channel page ----
async function pageChannel(id) {
  view.innerHTML = `<p class="muted">${T("loading")}</p>`;
  let c;
  try { c = await api(`/v1/channels/${encodeURIComponent(id)}`); } catch (e) { view.innerHTML = errBox(e); return; }
  view.innerHTML = `
  <section class="head">
    ${c.thumbnail_url ? `<img class="avatar" src="${esc(c.thumbnail_url)}" alt="">` : ""}
    <div><h2 id="ch-title">${esc(c.title)}</h2>
    <p class="muted">${esc(c.handle || "")} ${esc(c.country || "")} · <a href="https://www.youtube.com/channel/${esc(c.id)}" rel="noopener">YouTube</a></p>
    <div class="stats"><span><b>${num(c.subscriber_count)}</b> ${T("subscribers")}</span><span><b>${num(c.view_count)}</b> ${T("views")}</span><span><b>${num(c.video_count)}</b> ${T("videos")}</span></div></div>
  </section>
  <div class="grid2">
    <section><h3>${T("sub_growth")}</h3><div id="chart-subs" class="chartbox"></div></section>
    <section><h3>${T("view_growth")}</h3><div id="chart-views" class="chartbox"></div></section>
  </div>
  <section><h3>${T("channel_videos")} <select id="vsort"><option value="recent">${T("sort_recent")}</option><option value="views">${T("sort_views")}</option></select></h3>
  ${videoTable()}<p><button id="more" hidden>${T("more")}</button></p></section>`;
  api(`/v1/channels/${encodeURIComponent(id)}/stats`).then((s) => {
    const pts = (k) => s.points.map((p) => ({t: new Date(p.at), v: p[k], hot: p.hot}));
    lineChart($("#chart-subs"), [{name: T("subscribers"), points: pts("subscribers")}], {empty: T("no_history"), title: T("sub_growth")});
    lineChart($("#chart-views"), [{name: T("views"), points: pts("views"), color: "#1f6feb"}], {empty: T("no_history"), title: T("view_growth")});
  }).catch((e) => { $("#chart-subs").innerHTML = errBox(e); });
  let cursor = "";
  async function load(append) {
    const p = new URLSearchParams({sort: $("#vsort").value, limit: "20"});
    if (append && cursor) p.set("cursor", cursor);
    try {
      const r = await api(`/v1/channels/${encodeURIComponent(id)}/videos?` + p);
      const tb = $(".results tbody");
      if (!append) tb.innerHTML = "";
      tb.insertAdjacentHTML("beforeend", r.items.map(videoRow).join(""));
      $(".results").hidden = false;
      cursor = r.next_cursor || "";
      $("#more").hidden = !cursor;
    } catch (e) { $(".results").insertAdjacentHTML("afterend", errBox(e)); }
  }
  $("#vsort").addEventListener("change", () => load(false));
  $("#more").addEventListener("click", () => load(true));
  load(false);
}

// ---- video page ----
async function pageVideo(id) {
  view.innerHTML = `<p class="muted">${T("loading")}</p>`;
  let v;
  try { v = await api(`/v1/videos/${encodeURIComponent(id)}`); } catch (e) { view.innerHTML = errBox(e); return; }
  view.innerHTML = `
  <section class="head">
    ${v.thumbnail_url ? `<img class="vthumb" src="${esc(v.thumbnail_url)}" alt="">` : ""}
    <div><h2>${esc(v.title)}</h2>
    <p><a href="#/channel/${esc(v.channel_id)}">${esc(v.channel_title)}</a> · ${T("published")} ${esc((v.published_at || "").slice(0, 10))} · <a href="https://www.youtube.com/watch?v=${esc(v.id)}" rel="noopener">YouTube</a></p>
    <div class="stats"><span><b>${num(v.view_count)}</b> ${T("views")}</span><span><b>${num(v.like_count)}</b> ${T("likes")}</span><span><b>${num(v.comment_count)}</b> ${T("comments")}</span></div>
    ${v.tags ? `<p class="tags">${v.tags.map((t) => `<a href="#/?q=${encodeURIComponent(t)}">#${esc(t)}</a>`).join(" ")}</p>` : ""}</div>
  </section>
  <section><h3>${T("view_history")}</h3><div id="chart-views" class="chartbox"></div></section>
  <section><pre class="desc">${esc(v.description || "")}</pre></section>`;
  api(`/v1/videos/${encodeURIComponent(id)}/stats`).then((s) => {
    lineChart($("#chart-views"), [{name: T("views"), points: s.points.map((p) => ({t: new Date(p.at), v: p.views, hot: p.hot}))}], {empty: T("no_history"), title: T("view_history")});
  }).catch((e) => { $("#chart-views").innerHTML = errBox(e); });
}

// ---- rankings ----
async function pageRankings(params) {
  const by = params.get("by") || "subscribers", days = params.get("days") || "7", country = params.get("country") || "", cat = params.get("category_id") || "";
  view.innerHTML = `<h2>${T("rankings")}</h2>
  <form id="rk" class="row">
    <label>${T("by")} <select name="by">${["subscribers", "subscriber_growth", "view_growth"].map((b) => `<option value="${b}" ${b === by ? "selected" : ""}>${T("by_" + b)}</option>`).join("")}</select></label>
    <label>${T("days")} <input name="days" type="number" min="1" max="365" value="${esc(days)}" style="width:5em"></label>
    <label>${T("country")} <input name="country" size="2" maxlength="2" value="${esc(country)}" placeholder="KR"></label>
    <label>${T("category")} <input name="category_id" size="3" value="${esc(cat)}"></label>
    <button>${T("apply")}</button>
  </form>
  <div id="rk-chart" class="chartbox"></div>
  <table class="results"><thead><tr><th>${T("rank")}</th><th>${T("c_channel")}</th><th>${T("country")}</th><th class="num">${T("subscribers")}</th><th class="num">${T("subscribers")} ${T("growth")}</th><th class="num">${T("views")} ${T("growth")}</th></tr></thead><tbody></tbody></table>`;
  $("#rk").addEventListener("submit", (e) => {
    e.preventDefault();
    const p = new URLSearchParams([...new FormData(e.target)].filter(([, v]) => v !== ""));
    location.hash = "#/rankings?" + p;
  });
  const p = new URLSearchParams({by, days, limit: "50"});
  if (country) p.set("country", country);
  if (cat) p.set("category_id", cat);
  try {
    const r = await api("/v1/rankings/channels?" + p);
    $(".results tbody").innerHTML = r.items.map((c) => `<tr><td>${c.rank}</td><td><a href="#/channel/${esc(c.channel_id)}">${esc(c.title || c.channel_id)}</a></td><td>${esc(c.country || "")}</td>` +
      `<td class="num">${num(c.subscribers)}</td><td class="num">${num(c.subscriber_growth)}</td><td class="num">${num(c.view_growth)}</td></tr>`).join("") || `<tr><td colspan="6" class="muted">${T("no_data")}</td></tr>`;
    const key = {subscribers: "subscribers", subscriber_growth: "subscriber_growth", view_growth: "view_growth"}[by];
    barChart($("#rk-chart"), r.items.slice(0, 10).filter((c) => c[key] != null).map((c) => ({label: (c.title || c.channel_id).slice(0, 24), v: Math.max(0, c[key])})), {empty: T("no_data")});
  } catch (e) { view.insertAdjacentHTML("beforeend", errBox(e)); }
}

// ---- trending ----
async function pageTrending(params) {
  const hours = params.get("hours") || "24", cat = params.get("category_id") || "";
  view.innerHTML = `<h2>${T("trending")}</h2>
  <form id="tr" class="row">
    <label>${T("hours")} <input name="hours" type="number" min="1" max="168" value="${esc(hours)}" style="width:5em"></label>
    <label>${T("category")} <input name="category_id" size="3" value="${esc(cat)}"></label>
    <button>${T("apply")}</button>
  </form>
  <div id="tr-chart" class="chartbox"></div>
  <table class="results"><thead><tr><th>${T("rank")}</th><th>${T("c_title")}</th><th>${T("c_channel")}</th><th class="num">${T("per_hour")}</th><th class="num">${T("gained")}</th><th class="num">${T("c_views")}</th></tr></thead><tbody></tbody></table>`;
  $("#tr").addEventListener("submit", (e) => {
    e.preventDefault();
    location.hash = "#/trending?" + new URLSearchParams([...new FormData(e.target)].filter(([, v]) => v !== ""));
  });
  const p = new URLSearchParams({hours, limit: "50"});
  if (cat) p.set("category_id", cat);
  try {
    const r = await api("/v1/trending/videos?" + p);
    $(".results tbody").innerHTML = r.items.map((v) => `<tr><td>${v.rank}</td><td><a href="#/video/${esc(v.video_id)}">${esc(v.title || v.video_id)}</a></td>` +
      `<td><a href="#/channel/${esc(v.channel_id)}">${esc(v.channel_title || v.channel_id)}</a></td><td class="num">${num(Math.round(v.views_per_hour))}</td>` +
      `<td class="num">${num(v.views_gained)}</td><td class="num">${num(v.view_count)}</td></tr>`).join("") || `<tr><td colspan="6" class="muted">${T("no_data")}</td></tr>`;
    barChart($("#tr-chart"), r.items.slice(0, 10).map((v) => ({label: (v.title || v.video_id).slice(0, 24), v: v.views_per_hour, color: "#1f6feb", text: fmtNum(v.views_per_hour) + "/h"})), {empty: T("no_data")});
  } catch (e) { view.insertAdjacentHTML("beforeend", errBox(e)); }
}

// ---- pipeline dashboard ----
let dashTimer = null;
const dashHist = [];
async function pageDashboard() {
  view.innerHTML = `<h2>${T("dashboard")}</h2>
  <div class="grid2">
    <section><h3>${T("throughput")}</h3><div id="d-thr" class="chartbox"></div></section>
    <section><h3>${T("quota")}</h3><div id="d-quota"></div><div id="d-quota-chart" class="chartbox"></div></section>
    <section><h3>${T("stream_lag")}</h3><div id="d-lag" class="chartbox"></div></section>
    <section><h3>${T("errors")}</h3><div id="d-err"></div></section>
  </div>
  <section><h3>${T("collection_lag")}</h3><div id="d-coll"></div></section>
  <section><h3>${T("index_size")}</h3><div id="d-index"></div></section>`;
  async function tick() {
    let s;
    try { s = await api("/v1/status"); } catch (e) { $("#d-thr").innerHTML = errBox(e); return; }
    if (!$("#d-thr")) return;
    const now = new Date(s.time), c = s.counters || {};
    const pipe = s.pipeline || {}, lag = (pipe.stream && pipe.stream.consumer_lag) || {};
    dashHist.push({t: now, c, lag, quota: s.quota ? s.quota.used : null});
    while (dashHist.length > 120) dashHist.shift();
    const rate = (k) => dashHist.slice(1).map((h, i) => {
      const prev = dashHist[i], dt = (h.t - prev.t) / 1000;
      return {t: h.t, v: dt > 0 ? Math.max(0, ((h.c[k] || 0) - (prev.c[k] || 0)) / dt) : 0};
    });
    const thr = [{name: "collected", points: rate("collected_records")}, {name: "lake", points: rate("sink_records_lake"), color: "#1f6feb"}, {name: "index", points: rate("sink_records_index"), color: "#2da44e"}];
    lineChart($("#d-thr"), thr, {empty: T("loading"), legend: true, height: 180});
    const sinks = Object.keys(lag).sort();
    lineChart($("#d-lag"), sinks.map((k, i) => ({name: k, points: dashHist.map((h) => ({t: h.t, v: (h.lag || {})[k] ?? null})), color: ["#c4302b", "#1f6feb", "#2da44e"][i % 3]})), {empty: T("no_data"), legend: true, height: 180});
    if (s.quota) {
      const q = s.quota, pct = q.limit ? Math.round(100 * q.remaining / q.limit) : 0;
      $("#d-quota").innerHTML = `<p><b>${num(q.remaining)}</b> / ${num(q.limit)} ${T("quota_left")} (${pct}%) · ${T("reset")} ${esc(new Date(q.reset_at).toISOString().slice(0, 16).replace("T", " "))} UTC</p>` +
        `<div class="meter"><div style="width:${pct}%"></div></div>`;
      lineChart($("#d-quota-chart"), [{name: T("quota_left"), points: dashHist.filter((h) => h.quota !== null).map((h) => ({t: h.t, v: q.limit - h.quota}))}], {height: 140, empty: T("loading")});
    } else { $("#d-quota").innerHTML = `<p class="muted">${T("no_data")}</p>`; }
    barChart($("#d-err"), (s.errors || []).map((e) => ({label: `${e.op} ${e.reason}`, v: e.count})), {empty: T("no_errors")});
    const tiers = s.collector_tiers || [];
    $("#d-coll").innerHTML = (tiers.length ? `<h4>${T("collector_tiers")}</h4><table class="results"><thead><tr><th>${T("tier")}</th><th class="num">${T("items")}</th><th class="num">${T("overdue")}</th><th class="num">${T("lag_max")}</th></tr></thead><tbody>` +
      tiers.map((t) => `<tr><td>${esc(t.tier)}</td><td class="num">${num(t.items)}</td><td class="num">${num(t.overdue)}</td><td class="num">${dur(t.lag_seconds)}</td></tr>`).join("") + "</tbody></table>" : "") +
      `<table class="results"><thead><tr><th>${T("tier")} (${T("subscribers")})</th><th class="num">${T("channels")}</th><th class="num">${T("lag_p50")}</th><th class="num">${T("lag_p90")}</th><th class="num">${T("lag_max")}</th></tr></thead><tbody>` +
      ((s.collection_lag || []).map((t) => `<tr><td>${esc(t.tier)}</td><td class="num">${num(t.channels)}</td><td class="num">${dur(t.p50_seconds)}</td><td class="num">${dur(t.p90_seconds)}</td><td class="num">${dur(t.max_seconds)}</td></tr>`).join("") || `<tr><td colspan="5" class="muted">${esc(s.collection_lag_error || T("no_data"))}</td></tr>`) + "</tbody></table>";
    const ix = s.index || {};
    $("#d-index").innerHTML = `<div class="stats"><span><b>${num(ix.docs)}</b> ${T("docs")}</span><span><b>${num(ix.channels)}</b> ${T("channels")}</span>` +
      `<span><b>${fmtNum(ix.mem_bytes || 0)}B</b> ${T("memory")}</span><span><b>${num(ix.grams)}</b> grams</span>` +
      (pipe.stream ? `<span><b>${num(pipe.stream.messages)}</b> stream msgs</span><span><b>${num(pipe.stream.dead_letters)}</b> DLQ</span>` : "") + "</div>";
  }
  await tick();
  dashTimer = setInterval(tick, 3000);
}

// ---- router ----
function route() {
  if (dashTimer) { clearInterval(dashTimer); dashTimer = null; }
  const h = location.hash.replace(/^#/, "") || "/";
  const [path, qs] = h.split("?");
  const params = new URLSearchParams(qs || "");
  const parts = path.split("/").filter(Boolean);
  $$("header nav a").forEach((a) => a.classList.toggle("on", a.getAttribute("href") === "#/" + (parts[0] || "")));
  switch (parts[0]) {
    case "channel": return pageChannel(decodeURIComponent(parts[1] || ""));
    case "video": return pageVideo(decodeURIComponent(parts[1] || ""));
    case "rankings": return pageRankings(params);
    case "trending": return pageTrending(params);
    case "dashboard": return pageDashboard();
    default: return pageSearch(params);
  }
}
$("#lang-toggle").addEventListener("click", (e) => { e.preventDefault(); lang = lang === "ko" ? "en" : "ko"; localStorage.setItem("lang", lang); applyLang(); route(); });
window.addEventListener("hashchange", route);
// Old links: /?q=... opens the search page.
const initial = new URLSearchParams(location.search).get("q");
if (initial && !location.hash) location.hash = "#/?q=" + encodeURIComponent(initial);
applyLang();
route();
