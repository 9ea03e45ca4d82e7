// The compliance officers' console. Every value from the API is set with textContent:
// alert text, transcripts and names are always shown as text, never parsed as HTML.
"use strict";

const WORDS = {
  "zh-CN": {
    title: "合规监控台", signin: "登录", user: "用户名", password: "密码", logout: "退出",
    any_status: "全部状态", open: "待处理", acknowledged: "已确认", closed: "已关闭",
    any_category: "全部类别", any_rule: "全部规则", any_severity: "全部级别", since: "从", until: "至",
    search: "搜索号码、员工或摘要", apply: "筛选", export: "导出 CSV", more: "更多",
    last_event: "最近事件", severity: "级别", rule: "规则", subject: "对象", summary: "摘要",
    status: "状态", assignee: "负责人", acknowledge: "确认", assign: "指派", close: "关闭",
    reopen: "重新打开", comment: "评论", reveal: "查看真实身份", reason: "原因",
    resolved: "已解决", false_positive: "误报", duplicate: "重复", not_actionable: "无需处理",
    new_items: n => `${n} 条新告警`, selected: n => `已选 ${n} 条`, evidence: "证据", history: "处理记录",
    related: "同一对象的其他告警", rule_text: "规则说明", thresholds: "生效阈值", source: "来源",
    reveal_reason: "查看原因（将记入审计日志）", bad_login: "用户名或密码错误", saved: "已保存",
    none: "无", back: "返回列表", employees: "员工",
    it_actions: "IT 处置", state: "状态", kind: "类型", target: "对象", expires: "到期",
    pending_approval: "待审批", active: "生效中", rejected: "已拒绝", revoked: "已撤销", expired: "已过期",
    block_sender: "封禁发件人", block_domain: "封禁域名", approve: "批准", reject: "拒绝", revoke: "撤销",
    approve_action: "批准处置", reject_action: "拒绝处置", revoke_action: "撤销处置",
  },
  en: {
    title: "Compliance console", signin: "Sign in", user: "User", password: "Password", logout: "Sign out",
    any_status: "Any status", open: "Open", acknowledged: "Acknowledged", closed: "Closed",
    any_category: "Any category", any_rule: "Any rule", any_severity: "Any severity", since: "From", until: "To",
    search: "Search numbers, employees, summaries", apply: "Filter", export: "Export CSV", more: "More",
    last_event: "Last event", severity: "Severity", rule: "Rule", subject: "Subject", summary: "Summary",
    status: "Status", assignee: "Assignee", acknowledge: "Acknowledge", assign: "Assign", close: "Close",
    reopen: "Reopen", comment: "Comment", reveal: "Reveal identity", reason: "Reason",
    resolved: "Resolved", false_positive: "False positive", duplicate: "Duplicate", not_actionable: "Not actionable",
    new_items: n => `${n} new alerts`, selected: n => `${n} selected`, evidence: "Evidence", history: "History",
    related: "Other alerts on this subject", rule_text: "Rule", thresholds: "Thresholds in force", source: "Source",
    reveal_reason: "Reason for revealing (recorded in the audit log)", bad_login: "Unknown user or wrong password",
    saved: "Saved", none: "None", back: "Back to the queue", employees: "Employees",
    it_actions: "IT actions", state: "State", kind: "Kind", target: "Target", expires: "Expires",
    pending_approval: "Pending approval", active: "Active", rejected: "Rejected", revoked: "Revoked",
    expired: "Expired", block_sender: "Block sender", block_domain: "Block domain", approve: "Approve",
    reject: "Reject", revoke: "Revoke", approve_action: "Approved action", reject_action: "Rejected action",
    revoke_action: "Revoked action",
  },
};
const SEVERITY_ORDER = { critical: 0, high: 1, medium: 2, low: 3 };
const state = {
  lang: localStorage.getItem("cm-lang") || (navigator.language.startsWith("zh") ? "zh-CN" : "en"),
  session: null, alerts: [], cursor: null, fresh: 0, selected: new Set(), sort: null, rules: [], revealed: {},
};
const $ = id => document.getElementById(id);
const t = (key, ...args) => { const w = WORDS[state.lang][key]; return typeof w === "function" ? w(...args) : (w ?? key); };

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function translate() {
  document.documentElement.lang = state.lang;
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  for (const node of document.querySelectorAll("[data-tp]")) node.placeholder = t(node.dataset.tp);
  $("lang").textContent = state.lang === "en" ? "中文" : "English";
  document.title = t("title");
}

function when(iso) {
  if (!iso) return "";
  const zone = state.session?.timezone || "UTC";
  return new Intl.DateTimeFormat(state.lang, {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  }).format(new Date(iso));
}

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (options.method && options.method !== "GET" && state.session?.csrf) headers["X-CSRF-Token"] = state.session.csrf;
  const response = await fetch(path, {
    ...options, headers, credentials: "same-origin",
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const body = response.headers.get("Content-Type")?.includes("json") ? await response.json() : null;
  if (!response.ok) throw Object.assign(new Error(body?.error || response.statusText), { status: response.status });
  return body;
}

function filterQuery() {
  const form = new FormData($("filters"));
  const query = new URLSearchParams();
  for (const [key, value] of form.entries()) {
    if (!value) continue;
    query.set(key, key === "since" || key === "until" ? new Date(value + "T00:00:00").toISOString() : value);
  }
  return query;
}

function applyUrl() {
  const params = new URLSearchParams(location.search);
  for (const node of $("filters").elements) {
    if (!node.name || !params.has(node.name)) continue;
    const value = params.get(node.name);
    node.value = node.type === "date" ? value.slice(0, 10) : value;
  }
}

async function loadQueue(append = false) {
  const query = filterQuery();
  if (!append) history.replaceState(null, "", "?" + query.toString() + location.hash);
  query.set("limit", "50");
  if (append && state.cursor) query.set("cursor", state.cursor);
  const page = await api("/api/v1/alerts?" + query);
  state.alerts = append ? state.alerts.concat(page.alerts) : page.alerts;
  state.cursor = page.next_cursor;
  state.fresh = 0;
  $("export").href = "/api/v1/export.csv?" + filterQuery();
  renderQueue();
}

function sorted(alerts) {
  if (!state.sort) return alerts;
  const key = state.sort;
  const value = a => key === "severity" ? SEVERITY_ORDER[a.severity] : key === "status" ? a.triage.status : a[key];
  return [...alerts].sort((a, b) => (value(a) > value(b) ? 1 : value(a) < value(b) ? -1 : 0));
}

function renderQueue() {
  const rows = sorted(state.alerts).map(alert => {
    const box = el("input", { type: "checkbox", onchange: e => select(alert.alert_id, e.target.checked) });
    box.checked = state.selected.has(alert.alert_id);
    const row = el("tr", { class: "sev-" + alert.severity, "data-id": alert.alert_id },
      el("td", {}, box),
      el("td", { text: when(alert.last_event_time) }),
      el("td", { text: alert.severity }),
      el("td", { text: alert.rule_id }),
      el("td", { text: `${alert.subject.kind} ${alert.subject.id}` }),
      el("td", { text: alert.summary }),
      el("td", { text: t(alert.triage.status) }),
      el("td", { text: alert.triage.assignee || "" }));
    row.addEventListener("click", e => { if (e.target.tagName !== "INPUT") openAlert(alert.alert_id); });
    return row;
  });
  $("rows").replaceChildren(...rows);
  $("more").hidden = !state.cursor;
  $("new-count").hidden = state.fresh === 0;
  $("new-count").textContent = t("new_items", state.fresh);
  $("bulk").hidden = state.selected.size === 0 || !state.session.rights.includes("triage");
  $("selected").textContent = t("selected", state.selected.size);
}

function select(id, on) {
  if (on) state.selected.add(id); else state.selected.delete(id);
  renderQueue();
}

async function bulk(action) {
  const body = { alert_ids: [...state.selected], action };
  if (action === "close") body.reason = $("bulk-reason").value;
  await api("/api/v1/alerts/triage", { method: "POST", body });
  state.selected.clear();
  await loadQueue();
}

function matchesFilters(alert) {
  const query = filterQuery();
  for (const key of ["category", "rule_id", "severity"]) if (query.get(key) && alert[key] !== query.get(key)) return false;
  if (query.get("status") && alert.triage.status !== query.get("status")) return false;
  const q = (query.get("q") || "").toLowerCase();
  if (q && ![alert.subject.id, alert.summary, ...alert.employee_ids].some(v => v.toLowerCase().includes(q))) return false;
  return true;
}

function listen() {
  const source = new EventSource("/api/v1/stream");
  source.addEventListener("alert", e => {
    const alert = JSON.parse(e.data);
    const at = state.alerts.findIndex(a => a.alert_id === alert.alert_id);
    if (at >= 0) state.alerts[at] = alert;
    else if (matchesFilters(alert)) { state.alerts.unshift(alert); state.fresh += 1; }
    renderQueue();
    if (location.hash === "#" + alert.alert_id) openAlert(alert.alert_id);
  });
  source.addEventListener("triage", e => {
    const record = JSON.parse(e.data);
    if (location.hash === "#" + record.alert_id) openAlert(record.alert_id);
  });
}

function section(title, ...children) {
  return el("section", {}, el("h3", { text: title }), ...children);
}

function highlighted(text, matches = []) {
  // the lexicon terms the API found, marked with the term and how it matched; everything stays text nodes
  const node = el("p", { class: "text" });
  const value = String(text);
  let at = 0;
  for (const m of [...matches].sort((a, b) => a.start - b.start)) {
    if (m.start < at) continue;
    node.append(value.slice(at, m.start), el("mark", { title: `${m.category}: ${m.term} (${m.how})`, text: value.slice(m.start, m.end) }));
    at = m.end;
  }
  node.append(value.slice(at));
  return node;
}

function evidenceItem(event) {
  const data = event.data || {};
  const from = data.caller || data.sender || data.from_address || "";
  const to = data.callee || data.recipient || (data.to || []).join(", ");
  const line = [when(event.time), event.type, from && `${from} → ${to}`];
  if (data.duration_s !== undefined) line.push(`${data.duration_s}s${data.answered ? "" : " ✗"}`);
  if (data.amount !== undefined) line.push(`${data.amount} ${data.currency || ""}`);
  const item = el("li", {}, el("span", { text: line.filter(Boolean).join(" · ") }));
  for (const key of ["subject", "text", "body_text"]) {
    if (typeof data[key] === "string" && data[key]) item.append(highlighted(data[key], (data.matches || {})[key]));
  }
  for (const turn of data.transcript || []) {
    item.append(el("div", { class: "turn" }, el("b", { text: `${turn.speaker || ""}: ` }), highlighted(turn.text || "", turn.matches)));
  }
  return item;
}

async function openAlert(id) {
  // renders may overlap (a click and the stream): only the newest one is drawn, and what
  // the user had typed or chosen in the panel is kept across it
  const render = state.render = (state.render || 0) + 1;
  history.replaceState(null, "", location.search + "#" + id);
  const alert = await api("/api/v1/alerts/" + encodeURIComponent(id));
  const rights = state.session.rights;
  const panel = $("detail");
  const kept = panel.dataset.id === id
    ? Object.fromEntries([...panel.querySelectorAll("[data-keep]")].map(n => [n.dataset.keep, n.value])) : {};
  const triage = el("div", { class: "actions" });
  if (rights.includes("triage")) {
    const note = el("input", { placeholder: t("comment"), "data-keep": "comment" });
    const assignee = el("input", { placeholder: t("assignee"), "data-keep": "assignee" });
    const reason = el("select", { "data-keep": "reason" }, ...["resolved", "false_positive", "duplicate", "not_actionable"].map(r => el("option", { value: r, text: t(r) })));
    const send = body => api(`/api/v1/alerts/${encodeURIComponent(id)}/triage`, { method: "POST", body })
      .then(() => { for (const n of triage.querySelectorAll("input[data-keep]")) n.value = ""; return openAlert(id); }).catch(error => triage.append(el("p", { class: "error", text: error.message })));
    triage.append(
      el("button", { type: "button", text: t("acknowledge"), onclick: () => send({ action: "acknowledge" }) }),
      assignee, el("button", { type: "button", text: t("assign"), onclick: () => send({ action: "assign", assignee: assignee.value }) }),
      reason, el("button", { type: "button", text: t("close"), onclick: () => send({ action: "close", reason: reason.value }) }),
      el("button", { type: "button", text: t("reopen"), onclick: () => send({ action: "reopen" }) }),
      note, el("button", { type: "button", text: t("comment"), onclick: () => send({ action: "comment", comment: note.value }) }));
  }
  if (rights.includes("reveal") && alert.category === "distress") {
    // a revealed identity stays on this page until it is reloaded, never in storage
    const why = el("input", { placeholder: t("reveal_reason"), "data-keep": "why" });
    const out = el("p", { class: "revealed", text: state.revealed[id] || "" });
    triage.append(why, el("button", { type: "button", text: t("reveal"), onclick: async () => {
      const body = await api(`/api/v1/alerts/${encodeURIComponent(id)}/reveal`, { method: "POST", body: { reason: why.value } })
        .catch(error => ({ error: error.message }));
      state.revealed[id] = body.error || Object.entries(body.employees).map(([p, e]) => `${p} → ${e}`).join(", ");
      await openAlert(id);
    } }), out);
  }
  const rule = alert.rule || { detects: "", settings: [] };
  const related = await api("/api/v1/alerts?limit=20&q=" + encodeURIComponent(alert.subject.id)).catch(() => ({ alerts: [] }));
  if (render !== state.render) return;
  for (const node of triage.querySelectorAll("[data-keep]")) if (kept[node.dataset.keep] !== undefined) node.value = kept[node.dataset.keep];
  panel.dataset.id = id;
  panel.replaceChildren(
    el("button", { type: "button", text: t("back"), onclick: () => { panel.hidden = true; history.replaceState(null, "", location.search); } }),
    el("h2", { class: "sev-" + alert.severity, text: `${alert.severity} · ${alert.rule_id}` }),
    el("p", { text: alert.summary }),
    el("p", { text: `${alert.subject.kind} ${alert.subject.id} · ${t(alert.triage.status)}${alert.triage.assignee ? " · " + alert.triage.assignee : ""}` }),
    alert.employee_ids.length ? el("p", { text: `${t("employees")}: ${alert.employee_ids.join(", ")}` }) : "",
    triage,
    section(t("rule_text"), el("p", { text: rule.detects }),
      el("ul", {}, ...rule.settings.map(s => el("li", { text: `${s.key} = ${JSON.stringify(s.value)} (${t("source")}: ${s.source})` })))),
    section(t("evidence"), el("ol", { class: "timeline" }, ...alert.evidence.map(e => evidenceItem(e)))),
    section(t("related"), el("ul", {}, ...related.alerts.filter(a => a.alert_id !== id).map(a =>
      el("li", {}, el("a", { href: "#" + a.alert_id, text: `${when(a.last_event_time)} ${a.rule_id} ${a.summary}`, onclick: e => { e.preventDefault(); openAlert(a.alert_id); } }))))),
    section(t("history"), el("ol", {}, ...alert.history.map(h => el("li", { text: `${when(h.at)} ${h.user} (${h.role}) ${t(h.action)}${h.reason ? " · " + t(h.reason) : ""}${h.assignee ? " → " + h.assignee : ""}${h.comment ? " · " + h.comment : ""}` })))));
  panel.hidden = false;
}

const DECISIONS = { pending_approval: ["approve", "reject"], active: ["revoke"] };

async function loadActions() {
  if (!state.session.rights.includes("actions")) return;
  const page = await api("/api/v1/actions");
  const may = state.session.rights.includes("decide");
  $("actions").hidden = false;
  $("action-rows").replaceChildren(...page.actions.map(a => el("tr", { "data-action": a.action_id, class: "state-" + a.state },
    el("td", { text: t(a.state) }), el("td", { text: t(a.kind) }), el("td", { text: a.target }),
    el("td", { text: when(a.expires_at) }), el("td", { text: a.alert?.summary || a.reason }),
    el("td", {}, ...(may ? (DECISIONS[a.state] || []).map(decision => el("button", {
      type: "button", "data-decision": decision, text: t(decision), onclick: () => decide(a.action_id, decision),
    })) : [])))));
}

async function decide(actionId, decision) {
  $("action-error").textContent = "";
  try {
    await api(`/api/v1/actions/${encodeURIComponent(actionId)}/decision`, { method: "POST", body: { decision } });
  } catch (error) {
    $("action-error").textContent = error.message;
  }
  await loadActions();
}

async function start() {
  translate();
  try {
    state.session = await api("/api/v1/session");
  } catch (error) {
    $("login").hidden = false;
    return;
  }
  $("login").hidden = true;
  $("queue").hidden = false;
  $("logout").hidden = false;
  $("who").textContent = `${state.session.display_name || state.session.user} (${state.session.roles.join(", ")})`;
  $("export").hidden = !state.session.rights.includes("export");
  const rules = await api("/api/v1/rules");
  $("rule-filter").append(...rules.rules.map(r => el("option", { value: r.rule_id, text: r.rule_id })));
  applyUrl();
  await loadQueue();
  await loadActions();
  setInterval(() => loadActions().catch(() => {}), 15000);
  listen();
  if (location.hash.length > 1) openAlert(decodeURIComponent(location.hash.slice(1)));
}

$("lang").addEventListener("click", () => {
  state.lang = state.lang === "en" ? "zh-CN" : "en";
  localStorage.setItem("cm-lang", state.lang);
  translate();
  if (state.session) { renderQueue(); loadActions(); }
});
$("login").addEventListener("submit", async e => {
  e.preventDefault();
  const form = new FormData(e.target);
  try {
    await api("/login", { method: "POST", body: { name: form.get("name"), password: form.get("password") } });
    await start();
  } catch (error) {
    $("login-error").textContent = t("bad_login");
  }
});
$("logout").addEventListener("click", async () => { await api("/logout", { method: "POST" }); location.reload(); });
$("filters").addEventListener("submit", e => { e.preventDefault(); loadQueue(); });
$("more").addEventListener("click", () => loadQueue(true));
$("new-count").addEventListener("click", () => loadQueue());
$("all").addEventListener("change", e => { for (const a of state.alerts) if (e.target.checked) state.selected.add(a.alert_id); else state.selected.delete(a.alert_id); renderQueue(); });
for (const button of document.querySelectorAll("[data-bulk]")) button.addEventListener("click", () => bulk(button.dataset.bulk));
for (const head of document.querySelectorAll("[data-sort]")) head.addEventListener("click", () => { state.sort = head.dataset.sort; renderQueue(); });
start();
