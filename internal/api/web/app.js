"use strict";
const I18N = {
  ko: {placeholder: "검색어 (예: 초등영어)", sort_views: "조회수순", sort_relevance: "관련도순", sort_recent: "최신순",
    f_title: "제목", f_tags: "태그", f_channel: "채널", f_description: "설명", initials: "초성", layout: "한/영 자판",
    c_title: "제목", c_channel: "채널", c_views: "조회수", c_published: "게시일", more: "더 보기",
    summary: (n, rel, ms) => `${rel === "gte" ? n.toLocaleString() + "건 이상" : n.toLocaleString() + "건"} · ${ms} ms`, toggle: "English"},
  en: {placeholder: "Search (e.g. 초등영어)", sort_views: "Most viewed", sort_relevance: "Relevance", sort_recent: "Newest",
    f_title: "Title", f_tags: "Tags", f_channel: "Channel", f_description: "Description", initials: "Initials", layout: "KO/EN layout",
    c_title: "Title", c_channel: "Channel", c_views: "Views", c_published: "Published", more: "More",
    summary: (n, rel, ms) => `${rel === "gte" ? "≥ " : ""}${n.toLocaleString()} results · ${ms} ms`, toggle: "한국어"},
};
let lang = localStorage.getItem("lang") || (navigator.language || "ko").slice(0, 2);
if (!I18N[lang]) lang = "en";
const $ = (s) => document.querySelector(s);
function applyLang() {
  const t = I18N[lang];
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t[el.dataset.i18n]; });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t[el.dataset.i18nPlaceholder]; });
  $("#lang-toggle").textContent = t.toggle;
}
function esc(s) { return String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c])); }
let cursor = "", seq = 0;
async function search(append) {
  const q = $("#q").value.trim();
  const my = ++seq;
  if (!q) { $("#results").hidden = true; $("#summary").textContent = ""; $("#more").hidden = true; return; }
  const p = new URLSearchParams({q, sort: $("#sort").value, limit: "20"});
  const fields = [...document.querySelectorAll("input[name=in]:checked")].map((e) => e.value);
  if (fields.length) p.set("in", fields.join(","));
  if ($("#initials").checked) p.set("initials", "true");
  if ($("#layout").checked) p.set("layout", "true");
  if (append && cursor) p.set("cursor", cursor);
  const res = await fetch("/v1/videos/search?" + p);
  const body = await res.json();
  if (my !== seq) return;
  if (!res.ok) { $("#summary").innerHTML = `<span class="err">${esc(body.error.message)}</span>`; return; }
  const tb = $("#results tbody");
  if (!append) tb.innerHTML = "";
  for (const v of body.items) {
    const tr = document.createElement("tr");
    tr.innerHTML = `<td><a href="/v1/videos/${esc(v.id)}">${esc(v.title)}</a></td><td><a href="/v1/channels/${esc(v.channel_id)}">${esc(v.channel_title)}</a></td>` +
      `<td class="num">${Number(v.view_count).toLocaleString()}</td><td>${esc((v.published_at || "").slice(0, 10))}</td>`;
    tb.appendChild(tr);
  }
  $("#results").hidden = false;
  $("#summary").textContent = I18N[lang].summary(body.total, body.total_relation, (body.took_us / 1000).toFixed(2));
  cursor = body.next_cursor || "";
  $("#more").hidden = !cursor;
}
let timer;
$("#search").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => search(false), 120); });
$("#search").addEventListener("submit", (e) => { e.preventDefault(); search(false); });
$("#more").addEventListener("click", () => search(true));
$("#lang-toggle").addEventListener("click", (e) => { e.preventDefault(); lang = lang === "ko" ? "en" : "ko"; localStorage.setItem("lang", lang); applyLang(); });
applyLang();
const initial = new URLSearchParams(location.search).get("q");
if (initial) { $("#q").value = initial; search(false); }
