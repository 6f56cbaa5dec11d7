// The event catalog pages: one ES module, no framework, no build step.
//
// Authentication: the page itself is public and carries no data. The user's portal token is kept in
// sessionStorage (gone when the tab closes) and sent as "Authorization: Bearer" on every API call, so the
// pages show exactly what the REST API lets that team read. Navigation is hash-based (#/events, #/events/x,
// #/graph, #/deployments/id), so one public shell serves every page.

const TOKEN_KEY = "broker.catalog.token";
const PAGE_SIZE = 50;
const API_PAGE = 100;
const FINAL = new Set(["deployed", "destroyed", "failed", "superseded"]);
const API_ROOT = new URL(".", window.location.href);

// ---------------------------------------------------------------------------------------------- DOM helpers

/** Build an element; strings become text nodes (never HTML), so API data cannot inject markup. */
function h(tag, attrs = {}, ...children) {
  const svg = ["svg", "g", "rect", "text", "path", "title", "desc", "a"].includes(tag) && attrs.svg;
  const node = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "svg" || value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
const s = (tag, attrs = {}, ...children) => h(tag, { ...attrs, svg: true }, ...children);

/** Replace a node's children, skipping the null/false placeholders of optional parts. */
function put(node, ...children) {
  node.replaceChildren(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
}

function announce(message) {
  const status = document.getElementById("status");
  status.textContent = "";
  window.setTimeout(() => { status.textContent = message; }, 30);
}

function formatTime(value) {
  if (!value) return "";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function badge(text, tone) {
  return h("span", { class: `badge ${tone || ""}` }, text);
}

function statusBadge(status) {
  const tone = status === "failed" ? "bad" : FINAL.has(status) || status === "synthesized" ? "ok" : "warn";
  return badge(status || "unknown", tone);
}

function verdictBadge(compatible) {
  if (compatible === true) return badge("compatible", "ok");
  if (compatible === false) return badge("breaking", "bad");
  return badge("unknown", "warn");
}

function copyButton(getText, label) {
  return h("button", {
    type: "button",
    class: "secondary",
    "aria-label": label,
    onclick: async (event) => {
      const button = event.currentTarget;
      try {
        await navigator.clipboard.writeText(getText());
        button.textContent = "Copied";
        announce("Copied to the clipboard");
      } catch {
        button.textContent = "Select and copy";
      }
      window.setTimeout(() => { button.textContent = "Copy"; }, 1500);
    },
  }, "Copy");
}

function snippet(text, label) {
  return h("div", { class: "snippet" }, h("pre", { tabindex: "0", "aria-label": label }, h("code", {}, text)),
    copyButton(() => text, `Copy: ${label}`));
}

// ---------------------------------------------------------------------------------------------- API client

class ApiError extends Error {
  constructor(status, message, details, fromPortal = false) {
    super(message);
    this.status = status;
    this.details = details || [];
    // the portal words every refusal as {"error": {...}}; anything else came from the gateway in front of it
    this.fromPortal = fromPortal;
  }

  /** The route does not exist on this portal (older than the page): the gateway, not the portal, refused it. */
  get unavailable() {
    return !this.fromPortal && (this.status === 403 || this.status === 404);
  }
}

function token() {
  return window.sessionStorage.getItem(TOKEN_KEY);
}

/** Call the portal API with the session's token; errors carry the portal's own message. */
async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  const current = token();
  if (current) headers.Authorization = `Bearer ${current}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(new URL(path.replace(/^\//, ""), API_ROOT), {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, `the portal cannot be reached (${error.message})`);
  }
  let payload = null;
  try { payload = await response.json(); } catch { payload = null; }
  if (!response.ok) {
    const error = payload && payload.error;
    const message = (error && error.message) || (payload && payload.message) || response.statusText;
    if (response.status === 401) signOut(message);
    throw new ApiError(response.status, message, error && error.details, Boolean(error));
  }
  return payload;
}

function errorBox(error) {
  const details = (error.details || []).map((item) => h("li", {}, h("code", {}, item.field), ": ", item.rule));
  return h("div", { class: "error-box", role: "alert" },
    h("strong", {}, error.status ? `${error.status}: ` : ""), error.message,
    details.length ? h("ul", {}, details) : null);
}

// ---------------------------------------------------------------------------------------------- session

let signInMessage = "";

function signOut(message) {
  window.sessionStorage.removeItem(TOKEN_KEY);
  signInMessage = message || "";
  catalog.reset();
  renderSession();
  route();
}

function renderSession() {
  const box = document.getElementById("session");
  put(box);
  if (token()) {
    box.append(h("span", {}, "Signed in with a portal token"),
      h("button", { type: "button", class: "secondary", onclick: () => signOut("Signed out.") }, "Sign out"));
  }
}

function signInPage(main) {
  document.title = "Sign in · Event catalog";
  const input = h("input", { id: "token", name: "token", type: "password", autocomplete: "off", required: true,
    "aria-describedby": "token-help" });
  main.append(
    h("h1", { tabindex: "-1" }, "Sign in to the event catalog"),
    signInMessage ? h("div", { class: "error-box", role: "alert" }, signInMessage) : null,
    h("form", { class: "signin", onsubmit: (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      window.sessionStorage.setItem(TOKEN_KEY, value);
      signInMessage = "";
      renderSession();
      route();
    } },
    h("label", { for: "token" }, "Portal token"),
    input,
    h("p", { id: "token-help", class: "muted" },
      "The same bearer token you give curl or the broker command line. It stays in this tab only (session storage)."),
    h("button", { type: "submit" }, "Sign in")));
  input.focus();
}

// ---------------------------------------------------------------------------------------------- events cache

/** Every event, loaded page by page (100 a request) and kept for the tab; listeners redraw as pages arrive. */
const catalog = {
  items: [],
  complete: false,
  error: null,
  loading: null,
  listeners: new Set(),
  reset() { this.items = []; this.complete = false; this.error = null; this.loading = null; },
  load() {
    if (this.loading) return this.loading;
    this.loading = (async () => {
      let cursor = null;
      try {
        do {
          const query = new URLSearchParams({ limit: String(API_PAGE) });
          if (cursor) query.set("cursor", cursor);
          const page = await api(`events?${query}`);
          this.items.push(...page.items);
          cursor = page.next_cursor;
          this.notify();
        } while (cursor);
        this.complete = true;
      } catch (error) {
        this.error = error;
      }
      this.notify();
    })();
    return this.loading;
  },
  notify() { for (const listener of this.listeners) listener(); },
};

// ---------------------------------------------------------------------------------------------- events list

function uniqueSorted(values) {
  return [...new Set(values)].sort((a, b) => a.localeCompare(b));
}

function eventsPage(main, params) {
  document.title = "Events · Event catalog";
  const state = {
    q: params.get("q") || "",
    application: params.get("application") || "",
    owner: params.get("owner") || "",
    connection: params.get("connection") || "",
    page: Math.max(1, Number(params.get("page")) || 1),
  };
  const search = h("input", { id: "filter-q", type: "search", value: state.q, placeholder: "event type or description" });
  const application = h("select", { id: "filter-application" });
  const owner = h("select", { id: "filter-owner" });
  const connection = h("select", { id: "filter-connection" },
    h("option", { value: "" }, "any"), h("option", { value: "HTTPS" }, "HTTPS"), h("option", { value: "SQS" }, "SQS"));
  connection.value = state.connection;
  const summary = h("p", { id: "events-summary", class: "muted", "aria-live": "polite" });
  const table = h("div", { id: "events-table" });
  const pager = h("div", { class: "pager" });

  const fillSelect = (select, values, current) => {
    const have = [...select.options].map((option) => option.value).join("\n");
    const want = ["", ...values].join("\n");
    if (have === want) return;
    put(select, h("option", { value: "" }, "any"), ...values.map((value) => h("option", { value }, value)));
    select.value = values.includes(current) ? current : "";
  };

  const saveState = () => {
    const query = new URLSearchParams();
    for (const key of ["q", "application", "owner", "connection"]) if (state[key]) query.set(key, state[key]);
    if (state.page > 1) query.set("page", String(state.page));
    const hash = `#/events${query.toString() ? `?${query}` : ""}`;
    if (location.hash !== hash) history.replaceState(null, "", hash);
  };

  const draw = () => {
    fillSelect(application, uniqueSorted(catalog.items.map((item) => item.application)), state.application);
    fillSelect(owner, uniqueSorted(catalog.items.map((item) => item.owner)), state.owner);
    const needle = state.q.trim().toLowerCase();
    const matching = catalog.items.filter((item) =>
      (!state.application || item.application === state.application)
      && (!state.owner || item.owner === state.owner)
      && (!state.connection || item.connection_type === state.connection)
      && (!needle || item.event_type.toLowerCase().includes(needle) || (item.description || "").toLowerCase().includes(needle)));
    const pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE));
    state.page = Math.min(state.page, pages);
    const first = (state.page - 1) * PAGE_SIZE;
    const shown = matching.slice(first, first + PAGE_SIZE);
    const loading = catalog.complete ? "" : ` (loading… ${catalog.items.length} read so far)`;
    summary.textContent = matching.length
      ? `Showing ${first + 1}–${first + shown.length} of ${matching.length} events${loading}`
      : `No events match${loading}`;
    put(table, catalog.error ? errorBox(catalog.error) : null, h("table", {},
      h("caption", { class: "visually-hidden" }, "Event types"),
      h("thead", {}, h("tr", {}, ["Event type", "Application", "Owner", "Connection", "Latest", "Description", "Updated"]
        .map((title) => h("th", { scope: "col" }, title)))),
      h("tbody", {}, shown.map((item) => h("tr", {},
        h("td", {}, h("a", { href: `#/events/${encodeURIComponent(item.event_type)}` }, item.event_type)),
        h("td", {}, item.application), h("td", {}, item.owner), h("td", {}, item.connection_type),
        h("td", {}, `v${item.latest_version}`), h("td", {}, item.description || ""),
        h("td", {}, formatTime(item.updated_at)))))));
    put(pager, 
      h("button", { type: "button", class: "secondary", disabled: state.page <= 1,
        onclick: () => { state.page -= 1; saveState(); draw(); } }, "Previous page"),
      h("span", {}, `Page ${state.page} of ${pages}`),
      h("button", { type: "button", class: "secondary", disabled: state.page >= pages,
        onclick: () => { state.page += 1; saveState(); draw(); } }, "Next page"));
  };

  let timer = null;
  search.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => { state.q = search.value; state.page = 1; saveState(); draw(); }, 120);
  });
  for (const [select, key] of [[application, "application"], [owner, "owner"], [connection, "connection"]]) {
    select.addEventListener("change", () => { state[key] = select.value; state.page = 1; saveState(); draw(); });
  }

  main.append(
    h("h1", { tabindex: "-1" }, "Events"),
    h("form", { class: "filters", role: "search", onsubmit: (event) => event.preventDefault() },
      h("div", {}, h("label", { for: "filter-q" }, "Search"), search),
      h("div", {}, h("label", { for: "filter-application" }, "Application"), application),
      h("div", {}, h("label", { for: "filter-owner" }, "Owner"), owner),
      h("div", {}, h("label", { for: "filter-connection" }, "Connection type"), connection),
      h("div", {}, h("button", { type: "button", class: "secondary", onclick: () => {
        catalog.reset(); catalog.load(); draw();
      } }, "Reload"))),
    summary, table, pager);
  catalog.listeners.add(draw);
  catalog.load();
  draw();
  return () => catalog.listeners.delete(draw);
}

// ---------------------------------------------------------------------------------------------- schemas

function typeOf(schema) {
  if (!schema || typeof schema !== "object") return "any";
  if (Array.isArray(schema.type)) return schema.type.join(" | ");
  if (schema.type) return schema.type;
  if (schema.enum) return "enum";
  if (schema.$ref) return `ref ${schema.$ref}`;
  for (const key of ["oneOf", "anyOf", "allOf"]) if (schema[key]) return key;
  return "any";
}

const CONSTRAINTS = ["enum", "format", "pattern", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
  "exclusiveMaximum", "minItems", "maxItems", "uniqueItems", "multipleOf", "additionalProperties", "default"];

function constraintsOf(schema) {
  if (!schema || typeof schema !== "object") return "";
  return CONSTRAINTS.filter((key) => key in schema && !(key === "additionalProperties" && typeof schema[key] === "object"))
    .map((key) => `${key}: ${JSON.stringify(schema[key])}`).join("; ");
}

/** Flatten a data schema into one row per field path (objects by property, arrays as "name[]"). */
function schemaFields(schema, prefix = "", required = true, rows = new Map()) {
  if (!schema || typeof schema !== "object") return rows;
  if (prefix) {
    rows.set(prefix, { path: prefix, type: typeOf(schema), required, constraints: constraintsOf(schema),
      description: schema.description || "" });
  }
  const needed = new Set(Array.isArray(schema.required) ? schema.required : []);
  for (const [name, child] of Object.entries(schema.properties || {})) {
    schemaFields(child, prefix ? `${prefix}.${name}` : name, needed.has(name), rows);
  }
  if (schema.items && typeof schema.items === "object" && !Array.isArray(schema.items)) {
    schemaFields(schema.items, `${prefix || "(items)"}[]`, true, rows);
  }
  return rows;
}

function schemaTable(schema, caption) {
  const rows = [...schemaFields(schema).values()];
  if (!rows.length) return h("p", { class: "muted" }, "This schema declares no fields.");
  return h("table", { class: "schema" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ["Field", "Type", "Required", "Constraints", "Description"]
      .map((title) => h("th", { scope: "col" }, title)))),
    h("tbody", {}, rows.map((row) => h("tr", {},
      h("th", { scope: "row" }, h("code", {}, row.path)), h("td", {}, row.type),
      h("td", {}, row.required ? "yes" : "no"), h("td", {}, h("code", {}, row.constraints)),
      h("td", {}, row.description)))));
}

/** Field-level differences between two data schemas (what the page shows when the portal has no diff endpoint). */
function fieldChanges(fromSchema, toSchema) {
  const before = schemaFields(fromSchema);
  const after = schemaFields(toSchema);
  const changes = [];
  for (const [path, row] of after) {
    const old = before.get(path);
    if (!old) changes.push({ kind: "added", path, text: `${row.type}${row.required ? ", required" : ", optional"}` });
    else {
      const what = [];
      if (old.type !== row.type) what.push(`type ${old.type} → ${row.type}`);
      if (old.required !== row.required) what.push(row.required ? "now required" : "now optional");
      if (old.constraints !== row.constraints) what.push(`constraints ${old.constraints || "none"} → ${row.constraints || "none"}`);
      if (what.length) changes.push({ kind: "changed", path, text: what.join("; ") });
    }
  }
  for (const [path, row] of before) {
    if (!after.has(path)) changes.push({ kind: "removed", path, text: `${row.type}${row.required ? ", was required" : ""}` });
  }
  return changes.sort((a, b) => a.path.localeCompare(b.path));
}

/** A sample value satisfying simple schemas, for the copyable snippets and the try-an-event box. */
function sampleOf(schema, name = "value") {
  if (!schema || typeof schema !== "object") return null;
  if ("default" in schema) return schema.default;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === "object" || schema.properties) {
    const value = {};
    for (const [key, child] of Object.entries(schema.properties || {})) value[key] = sampleOf(child, key);
    return value;
  }
  if (type === "array") return [sampleOf(schema.items, name)];
  if (type === "integer") return Math.max(1, schema.minimum || 0);
  if (type === "number") return Math.max(1.5, schema.minimum || 0);
  if (type === "boolean") return true;
  if (type === "null") return null;
  if (schema.format === "date-time") return "2026-01-01T00:00:00Z";
  if (schema.format === "email") return "someone@example.com";
  return `${name}-1`;
}

function sampleEnvelope(dataSchema, application) {
  return { metadata: { event_attributes: { source: application, target: "<target unit>" } }, data: sampleOf(dataSchema) };
}

// ---------------------------------------------------------------------------------------------- graph

const NODE_W = 260;
const ROW_H = 30;
const COLUMN_X = { application: 10, event: 370, consumer: 730 };
const TITLES = { application: "Producers (applications)", event: "Events", consumer: "Consumers (team/target)" };

function shorten(text, max = 34) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Lay the three columns out so each event sits near its producer and each consumer near its events. */
function layout(graph) {
  const byKind = { application: [], event: [], consumer: [] };
  for (const node of graph.nodes) byKind[node.kind].push(node);
  const row = new Map();
  byKind.application.sort((a, b) => a.label.localeCompare(b.label)).forEach((node, index) => row.set(node.id, index));
  const producerOf = new Map();
  const consumersOf = new Map();
  for (const edge of graph.edges) {
    if (edge.from.startsWith("application:")) producerOf.set(edge.to, edge.from);
    else {
      if (!consumersOf.has(edge.to)) consumersOf.set(edge.to, []);
      consumersOf.get(edge.to).push(edge.from);
    }
  }
  byKind.event.sort((a, b) => (row.get(producerOf.get(a.id)) ?? 0) - (row.get(producerOf.get(b.id)) ?? 0)
    || a.label.localeCompare(b.label)).forEach((node, index) => row.set(node.id, index));
  const centre = (node) => {
    const rows = (consumersOf.get(node.id) || []).map((id) => row.get(id) ?? 0);
    return rows.length ? rows.reduce((sum, value) => sum + value, 0) / rows.length : 0;
  };
  byKind.consumer.sort((a, b) => centre(a) - centre(b) || a.label.localeCompare(b.label))
    .forEach((node, index) => row.set(node.id, index));
  return { byKind, row };
}

function graphSvg(graph, caption) {
  const { byKind, row } = layout(graph);
  const rows = Math.max(1, byKind.application.length, byKind.event.length, byKind.consumer.length);
  const top = 40;
  const height = top + rows * ROW_H + 10;
  const width = COLUMN_X.consumer + NODE_W + 10;
  const y = (id) => top + row.get(id) * ROW_H;
  const kindOf = new Map(graph.nodes.map((node) => [node.id, node.kind]));
  const edges = graph.edges.filter((edge) => kindOf.has(edge.from) && kindOf.has(edge.to)).map((edge) => {
    const x1 = COLUMN_X[kindOf.get(edge.from)] + NODE_W;
    const x2 = COLUMN_X[kindOf.get(edge.to)];
    const y1 = y(edge.from) + 11;
    const y2 = y(edge.to) + 11;
    const mid = (x1 + x2) / 2;
    return s("path", { class: "edge", d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}` });
  });
  const nodes = graph.nodes.map((node) => {
    const box = s("g", { class: `node ${node.kind}`, transform: `translate(${COLUMN_X[node.kind]},${y(node.id)})` },
      s("title", {}, `${node.kind}: ${node.label}`),
      s("rect", { width: NODE_W, height: 22, rx: 4 }),
      s("text", { x: 8, y: 15 }, shorten(node.label)));
    if (node.kind !== "event") return box;
    const name = node.id.slice("event:".length);
    return s("a", { href: `#/events/${encodeURIComponent(name)}`, "aria-label": `event ${name}` }, box);
  });
  const titles = Object.entries(TITLES).map(([kind, title]) =>
    s("text", { class: "column-title", x: COLUMN_X[kind], y: 22 }, `${title} (${byKind[kind].length})`));
  const label = `${caption}: ${byKind.application.length} producing applications, ${byKind.event.length} events, `
    + `${byKind.consumer.length} consumers, ${graph.edges.length} connections`;
  return h("div", { class: "graph-wrap" },
    s("svg", { xmlns: "http://www.w3.org/2000/svg", width, height, viewBox: `0 0 ${width} ${height}`,
      role: "img", "aria-label": label, "data-nodes": graph.nodes.length, "data-edges": graph.edges.length },
    s("desc", {}, label), ...titles, ...edges, ...nodes));
}

/** The part of the graph connected to events whose name contains ``needle``. */
function narrowGraph(graph, needle) {
  if (!needle) return graph;
  const keep = new Set(graph.nodes.filter((node) => node.kind === "event" && node.label.toLowerCase().includes(needle))
    .map((node) => node.id));
  const edges = graph.edges.filter((edge) => keep.has(edge.from) || keep.has(edge.to));
  const ids = new Set(edges.flatMap((edge) => [edge.from, edge.to]));
  for (const id of keep) ids.add(id);
  return { nodes: graph.nodes.filter((node) => ids.has(node.id)), edges };
}

function graphPage(main, params, eventType) {
  const title = eventType ? `Graph of ${eventType}` : "Graph";
  document.title = `${title} · Event catalog`;
  const holder = h("div", { id: "graph" }, h("p", {}, "Loading the graph…"));
  const filter = h("input", { id: "graph-filter", type: "search", value: params.get("q") || "",
    placeholder: "part of an event type" });
  main.append(h("h1", { tabindex: "-1" }, title),
    h("p", { class: "muted" }, "Producing applications → event types → consuming teams and target units. "
      + "Event boxes are links (Tab to reach them)."),
    eventType ? h("p", {}, h("a", { href: `#/events/${encodeURIComponent(eventType)}` }, `Back to ${eventType}`))
      : h("form", { class: "filters", role: "search", onsubmit: (event) => event.preventDefault() },
        h("div", {}, h("label", { for: "graph-filter" }, "Show only events containing"), filter)),
    holder);
  let full = null;
  const draw = () => {
    if (!full) return;
    const needle = filter.value.trim().toLowerCase();
    put(holder, graphSvg(narrowGraph(full, needle), title));
  };
  let timer = null;
  filter.addEventListener("input", () => { window.clearTimeout(timer); timer = window.setTimeout(draw, 150); });
  api(`graph${eventType ? `?event_type=${encodeURIComponent(eventType)}` : ""}`)
    .then((graph) => { full = graph; draw(); announce("Graph loaded"); })
    .catch((error) => put(holder, errorBox(error)));
}

// ---------------------------------------------------------------------------------------------- one event

function section(id, title, ...children) {
  return h("section", { "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

function versionVerdict(version) {
  const compat = version.compatibility;
  if (compat && compat.backward) return compat.backward.compatible;
  return version.backward_compatible;
}

async function eventPage(main, params, eventType) {
  document.title = `${eventType} · Event catalog`;
  main.append(h("p", { class: "muted" }, h("a", { href: "#/events" }, "All events")),
    h("h1", { tabindex: "-1" }, eventType));
  let event;
  try {
    event = await api(`events/${encodeURIComponent(eventType)}`);
  } catch (error) {
    main.append(errorBox(error));
    return;
  }
  const versions = event.versions || [];
  const schemas = new Map();
  const loadVersion = (number) => {
    if (!schemas.has(number)) {
      schemas.set(number, api(`events/${encodeURIComponent(eventType)}/versions/${number}`));
    }
    return schemas.get(number);
  };
  const latest = event.latest_version;

  main.append(h("dl", { class: "facts" },
    h("dt", {}, "Application (producer)"), h("dd", {}, event.application),
    h("dt", {}, "Owner"), h("dd", {}, event.owner),
    h("dt", {}, "Connection type"), h("dd", {}, event.connection_type),
    h("dt", {}, "Latest version"), h("dd", {}, `v${latest}`),
    event.compatibility_mode ? [h("dt", {}, "Compatibility mode"), h("dd", {}, event.compatibility_mode)] : null,
    h("dt", {}, "Description"), h("dd", {}, event.description || "—"),
    h("dt", {}, "Updated"), h("dd", {}, formatTime(event.updated_at))));

  // versions
  main.append(section("versions-title", "Versions", h("table", {},
    h("caption", { class: "visually-hidden" }, `Versions of ${eventType}`),
    h("thead", {}, h("tr", {}, ["Version", "Created", "By", "Subscriptions", "Compatible with previous", "Deployment"]
      .map((title) => h("th", { scope: "col" }, title)))),
    h("tbody", {}, versions.map((version) => h("tr", {},
      h("th", { scope: "row" }, `v${version.version}`), h("td", {}, formatTime(version.created_at)),
      h("td", {}, version.created_by), h("td", {}, String(version.subscription_count)),
      h("td", {}, version.version === 1 ? "—" : verdictBadge(versionVerdict(version))),
      h("td", {}, h("a", { href: `#/deployments/${encodeURIComponent(version.deployment_id)}` }, version.deployment_id))))))));

  // schema
  const versionOptions = (selected) => versions.map((version) =>
    h("option", { value: String(version.version), selected: version.version === selected }, `v${version.version}`));
  const schemaVersion = h("select", { id: "schema-version" }, versionOptions(latest));
  const schemaBox = h("div", { id: "schema" });
  const showSchema = async () => {
    const number = Number(schemaVersion.value);
    put(schemaBox, h("p", {}, "Loading…"));
    try {
      const detail = await loadVersion(number);
      put(schemaBox, 
        h("p", {}, "Detail type ", h("code", {}, detail.detail_type)),
        schemaTable(detail.data_schema, `Fields of the data object of ${eventType} v${number}`),
        h("details", {}, h("summary", {}, "JSON Schema of the data object"),
          snippet(JSON.stringify(detail.data_schema, null, 2), `data schema v${number}`)),
        h("details", {}, h("summary", {}, "Full envelope schema"),
          snippet(JSON.stringify(detail.schema, null, 2), `envelope schema v${number}`)));
      showSending(detail);
    } catch (error) {
      put(schemaBox, errorBox(error));
    }
  };
  schemaVersion.addEventListener("change", showSchema);
  main.append(section("schema-title", "Schema",
    h("div", { class: "filters" }, h("div", {}, h("label", { for: "schema-version" }, "Version"), schemaVersion)),
    schemaBox));

  // diff
  const fromSelect = h("select", { id: "diff-from" }, versionOptions(Number(params.get("from")) || Math.max(1, latest - 1)));
  const toSelect = h("select", { id: "diff-to" }, versionOptions(Number(params.get("to")) || latest));
  const diffBox = h("div", { id: "diff", "aria-live": "polite" });
  const showDiff = async () => {
    const from = Number(fromSelect.value);
    const to = Number(toSelect.value);
    put(diffBox, h("p", {}, "Comparing…"));
    let diff = null;
    try {
      diff = await api(`events/${encodeURIComponent(eventType)}/diff?from=${from}&to=${to}`);
    } catch (error) {
      if (!error.unavailable) { put(diffBox, errorBox(error)); return; }
    }
    let fromSchema;
    let toSchema;
    let backward;
    let forward = null;
    let mode = diff ? diff.mode : event.compatibility_mode || null;
    if (diff) {
      fromSchema = diff.from_schema;
      toSchema = diff.to_schema;
      backward = diff.backward;
      forward = diff.forward;
    } else {
      // No diff endpoint on this portal: compare the two schemas here. The verdict is known only for
      // consecutive versions (recorded when the newer one was registered), otherwise it is "unknown".
      try {
        [fromSchema, toSchema] = (await Promise.all([loadVersion(from), loadVersion(to)])).map((v) => v.data_schema);
      } catch (error) {
        put(diffBox, errorBox(error));
        return;
      }
      const newer = versions.find((version) => version.version === to);
      const known = newer && to === from + 1 && newer.backward_compatible !== null && newer.backward_compatible !== undefined;
      backward = known
        ? { compatible: newer.backward_compatible, problems: (newer.compatibility_problems || []).map((message) => ({ pointer: "", message })) }
        : { compatible: null, problems: [] };
    }
    const changes = fieldChanges(fromSchema, toSchema);
    const problems = [...(backward.problems || []), ...((forward && forward.problems) || [])];
    put(diffBox, 
      h("p", { id: "diff-verdict" }, `v${from} → v${to}: backward `, verdictBadge(from === to ? true : backward.compatible),
        forward ? [" · forward ", verdictBadge(forward.compatible)] : null,
        mode ? h("span", { class: "muted" }, ` (mode ${mode})`) : null,
        diff ? null : h("span", { class: "muted" }, " — computed in the page: this portal has no diff endpoint")),
      problems.length ? h("ul", { class: "bad" }, problems.map((problem) =>
        h("li", {}, problem.pointer ? [h("code", {}, problem.pointer), ": "] : null, problem.message))) : null,
      changes.length ? h("table", { id: "diff-table" },
        h("caption", {}, `Field changes from v${from} to v${to}`),
        h("thead", {}, h("tr", {}, ["Field", "Change", "Detail"].map((title) => h("th", { scope: "col" }, title)))),
        h("tbody", {}, changes.map((change) => h("tr", { class: `diff-${change.kind}` },
          h("td", {}, h("code", {}, change.path)), h("td", {}, change.kind), h("td", {}, change.text)))))
        : h("p", { id: "diff-table" }, "The two data schemas declare the same fields."));
  };
  main.append(section("diff-title", "Compare versions",
    h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); showDiff(); } },
      h("div", {}, h("label", { for: "diff-from" }, "From version"), fromSelect),
      h("div", {}, h("label", { for: "diff-to" }, "To version"), toSelect),
      h("div", {}, h("button", { type: "submit" }, "Compare"))),
    diffBox));

  // how to send and try an event
  const sendBox = h("div", { id: "send" });
  const tryBox = h("div", { id: "try" });
  const showSending = async (detail) => {
    const sample = sampleEnvelope(detail.data_schema, event.application);
    const body = JSON.stringify(sample, null, 2);
    let outputs = {};
    try {
      outputs = (await api(`deployments/${encodeURIComponent(detail.deployment_id)}`)).outputs || {};
    } catch { outputs = {}; }
    if (event.connection_type === "HTTPS") {
      const url = outputs.endpoint_url || `$PRODUCER_API_URL${detail.producer_endpoint_path}`;
      put(sendBox, 
        h("p", {}, `Producers POST the envelope to `, h("code", {}, detail.producer_endpoint_path),
          " on the broker's producer API, with the API key the portal gave the owner. The body is validated against the schema."),
        snippet(`curl -X POST "${url}" \\\n  -H "x-api-key: $KEY" -H 'Content-Type: application/json' \\\n  -d '${JSON.stringify(sample)}'`,
          `curl command for ${eventType} v${detail.version}`),
        h("details", {}, h("summary", {}, "Sample envelope"), snippet(body, "sample envelope")));
    } else {
      const queue = outputs.queue_url || "$QUEUE_URL";
      put(sendBox, 
        h("p", {}, "Producers send the envelope as the message body to the event version's SQS queue",
          outputs.queue_url ? "." : " (its URL is the queue_url output of this version's deployment)."),
        snippet(`aws sqs send-message --queue-url "${queue}" \\\n  --message-body '${JSON.stringify(sample)}'`,
          `aws sqs command for ${eventType} v${detail.version}`),
        h("details", {}, h("summary", {}, "Sample envelope"), snippet(body, "sample envelope")));
    }
    const area = h("textarea", { id: "try-body", rows: 10, cols: 70, spellcheck: "false" });
    area.value = body;
    const result = h("div", { id: "try-result", "aria-live": "polite" });
    put(tryBox, h("form", { onsubmit: async (e) => {
      e.preventDefault();
      let envelope;
      try { envelope = JSON.parse(area.value); } catch (error) {
        put(result, h("div", { class: "error-box", role: "alert" }, `Not valid JSON: ${error.message}`));
        return;
      }
      try {
        const answer = await api(`events/${encodeURIComponent(eventType)}/versions/${detail.version}/test`,
          { method: "POST", body: envelope });
        put(result, 
          h("p", {}, answer.valid ? badge("valid", "ok") : badge("invalid", "bad"), " detail type ",
            h("code", {}, answer.detail_type || "")),
          (answer.errors || []).length ? h("ul", { class: "bad" }, answer.errors.map((item) =>
            h("li", {}, h("code", {}, item.field), `: ${item.rule}`))) : null,
          h("p", {}, `Reaches ${(answer.matches || []).length} of the subscriptions you can see`),
          h("ul", {}, (answer.matches || []).map((match) =>
            h("li", {}, `${match.subscription_id} ${match.team}/${match.target_unit} (${match.connection_type})`))));
      } catch (error) {
        put(result, error.unavailable
          ? h("p", { class: "note" }, "This portal cannot test events yet.")
          : errorBox(error));
      }
    } },
    h("label", { for: "try-body" }, `Envelope to check against v${detail.version}`), area,
    h("p", {}, h("button", { type: "submit" }, "Check this event"))), result);
  };
  main.append(section("send-title", "How to send", sendBox),
    section("try-title", "Try an event", tryBox));

  // subscriptions (owner only)
  const subsBox = h("div", { id: "subscriptions" }, h("p", {}, "Loading…"));
  main.append(section("subs-title", "Subscriptions", subsBox));
  const loadSubscriptions = async () => {
    const items = [];
    let cursor = null;
    do {
      const query = new URLSearchParams({ limit: "100" });
      if (cursor) query.set("cursor", cursor);
      const page = await api(`events/${encodeURIComponent(eventType)}/subscriptions?${query}`);
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    return items;
  };
  loadSubscriptions().then((items) => {
    put(subsBox, items.length ? h("table", {},
      h("caption", { class: "visually-hidden" }, `Subscriptions of ${eventType}`),
      h("thead", {}, h("tr", {}, ["Subscription", "Team", "Target unit", "Connection", "Version", "Deployment"]
        .map((title) => h("th", { scope: "col" }, title)))),
      h("tbody", {}, items.map((item) => h("tr", {},
        h("td", {}, item.subscription_id), h("td", {}, item.team), h("td", {}, item.target_unit),
        h("td", {}, item.connection_type), h("td", {}, `v${item.version}`),
        h("td", {}, statusBadge(item.deployment_status), " ",
          h("a", { href: `#/deployments/${encodeURIComponent(item.deployment_id)}` }, item.deployment_id))))))
      : h("p", {}, "No subscriptions yet."));
  }).catch((error) => {
    if (error.unavailable) put(subsBox, h("p", { class: "note" }, "This portal does not list an event's subscriptions yet."));
    else if (error.status === 403) put(subsBox, h("p", { class: "note" }, `Only the owning team (${event.owner}) sees the subscriptions of this event.`));
    else put(subsBox, errorBox(error));
  });

  // graph of this event
  const graphBox = h("div", { id: "event-graph" }, h("p", {}, "Loading…"));
  main.append(section("graph-title", "Producers and consumers", graphBox,
    h("p", {}, h("a", { href: `#/graph/${encodeURIComponent(eventType)}` }, "Open this graph on its own page"))));
  api(`graph?event_type=${encodeURIComponent(eventType)}`)
    .then((graph) => put(graphBox, graphSvg(graph, `Graph of ${eventType}`)))
    .catch((error) => put(graphBox, errorBox(error)));

  showSchema();
  if (versions.length) showDiff();
}

// ---------------------------------------------------------------------------------------------- deployment

function deploymentPage(main, params, deploymentId) {
  document.title = `Deployment ${deploymentId} · Event catalog`;
  const body = h("div", { id: "deployment" }, h("p", {}, "Loading…"));
  const terraformBox = h("div", { id: "terraform" });
  main.append(h("h1", { tabindex: "-1" }, `Deployment ${deploymentId}`), body,
    section("terraform-title", "Generated Terraform", terraformBox));
  let timer = null;
  let terraformShown = false;
  const refresh = async () => {
    let record;
    try {
      record = await api(`deployments/${encodeURIComponent(deploymentId)}`);
    } catch (error) {
      put(body, errorBox(error));
      return;
    }
    const eventLink = h("a", { href: `#/events/${encodeURIComponent(record.event_type)}` }, `${record.event_type} v${record.version}`);
    put(body, 
      h("p", {}, "Status ", statusBadge(record.status), FINAL.has(record.status) ? "" : h("span", { class: "muted" }, " (refreshing every 3 s)")),
      h("dl", { class: "facts" },
        h("dt", {}, "Kind"), h("dd", {}, `${record.kind} (${record.action})`),
        h("dt", {}, "Event"), h("dd", {}, eventLink),
        record.subscription_id ? [h("dt", {}, "Subscription"), h("dd", {}, record.subscription_id)] : null,
        h("dt", {}, "Component"), h("dd", {}, h("code", {}, record.component_id)),
        h("dt", {}, "Sequence"), h("dd", {}, String(record.sequence)),
        h("dt", {}, "Requested"), h("dd", {}, `${formatTime(record.requested_at)} by ${record.requested_by}`),
        h("dt", {}, "Updated"), h("dd", {}, formatTime(record.updated_at))),
      record.error ? section("error-title", "Error", h("pre", { class: "error-box" }, record.error)) : null,
      record.instructions ? section("instructions-title", "What the owner must do", h("pre", {}, record.instructions)) : null,
      Object.keys(record.outputs || {}).length ? section("outputs-title", "Outputs", h("dl", { class: "facts" },
        Object.entries(record.outputs).map(([key, value]) => [h("dt", {}, key), h("dd", {}, h("code", {}, value))]))) : null,
      section("history-title", "Status history", h("ol", { class: "history" }, (record.history || []).map((change) =>
        h("li", {}, statusBadge(change.status), ` ${formatTime(change.at)}`, change.detail ? ` — ${change.detail}` : "")))));
    if (!terraformShown && record.status !== "pending") {
      try {
        const document_ = await api(`deployments/${encodeURIComponent(deploymentId)}/terraform`);
        const text = JSON.stringify(document_, null, 2);
        put(terraformBox, snippet(text, "generated Terraform JSON"));
        terraformShown = true;
      } catch (error) {
        put(terraformBox, h("p", { class: "note" }, error.message));
      }
    } else if (!terraformShown) {
      put(terraformBox, h("p", { class: "note" }, "The generator has not synthesized this deployment yet."));
    }
    if (!FINAL.has(record.status) && location.hash.startsWith(`#/deployments/`)) timer = window.setTimeout(refresh, 3000);
  };
  refresh();
  return () => window.clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------- router

let cleanup = null;

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/events";
  const [path, search] = raw.split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(search || "") };
}

function route() {
  if (cleanup) { cleanup(); cleanup = null; }
  const main = document.getElementById("main");
  put(main);
  const { parts, params } = parseHash();
  for (const link of document.querySelectorAll(".top nav a")) {
    const active = (parts[0] || "events") === link.getAttribute("href").slice(2);
    if (active) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  if (!token()) {
    signInPage(main);
    return;
  }
  const [first, second, ...rest] = parts;
  if ((!first || first === "events") && !second) cleanup = eventsPage(main, params) || null;
  else if (first === "events" && second && !rest.length) eventPage(main, params, second);
  else if (first === "graph" && !rest.length) graphPage(main, params, second || null);
  else if (first === "deployments" && second && !rest.length) cleanup = deploymentPage(main, params, second) || null;
  else main.append(h("h1", { tabindex: "-1" }, "Page not found"), h("p", {}, h("a", { href: "#/events" }, "All events")));
  const heading = main.querySelector("h1");
  if (heading && document.activeElement === document.body) heading.focus({ preventScroll: true });
}

// filter changes rewrite the hash with history.replaceState, which fires no hashchange: every hashchange is a page
window.addEventListener("hashchange", route);
renderSession();
route();
