"use strict";
// The dashboard (`/_mock/ui`): one stream of server-sent events (`/_mock/events`) to show, the
// control API to act. The stream is read with fetch rather than EventSource, because
// EventSource cannot send the admin token in a header, and a token in a URL ends up in logs.
// Everything shown is put in as text, never as HTML: names and paths come from API clients.

const boot = JSON.parse(document.getElementById("boot").textContent);
const TOKEN_KEY = "connectors-mock.admin-token";
const JOURNAL_ROWS = 200;
const RETRY_MS = 2000;
const $ = (id) => document.getElementById(id);

const state = {
  tenant: new URLSearchParams(window.location.search).get("tenant") || "",
  view: null,
  clock: null,
  scenarios: [],
  entries: [],
  stream: null,
};

// ---------------------------------------------------------------------------------------------
// Talking to the fake

function headers(extra) {
  const all = { ...extra };
  const token = window.sessionStorage.getItem(TOKEN_KEY);
  if (token) all["X-Mock-Admin-Token"] = token;
  return all;
}

async function problem(response) {
  try {
    const body = await response.json();
    return body.error.message;
  } catch {
    return `HTTP ${response.status}`;
  }
}

// A control API call; resolves to the response, or throws with the fake's own message.
async function call(method, path, body, type) {
  const init = { method, headers: headers(body === undefined ? {} : { "Content-Type": type || "application/json" }) };
  if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
  const response = await fetch(path, init);
  if (response.status === 401 && boot.adminToken) {
    askForToken("The admin token was refused; type it again.");
    throw new Error("the admin token was refused");
  }
  if (!response.ok) throw new Error(await problem(response));
  return response;
}

// Run an action from a button or form, and say how it went.
async function act(what, action) {
  try {
    await action();
    notice(what);
  } catch (error) {
    notice(`${what} failed: ${error.message}`, true);
  }
}

function notice(text, failed) {
  const line = $("notice");
  line.textContent = text;
  line.classList.toggle("error", Boolean(failed));
}

// ---------------------------------------------------------------------------------------------
// The event stream

function streamUrl() {
  const query = new URLSearchParams();
  if (state.tenant) query.set("tenant", state.tenant);
  const status = $("status-filter").value.trim();
  if (status) query.set("status", status);
  const operation = $("operation-filter").value;
  if (operation) query.set("operation", operation);
  if (state.tenant && $("tenant-only").checked) query.set("only_tenant", "true");
  return `/_mock/events?${query}`;
}

async function connect() {
  if (state.stream) state.stream.abort();
  const controller = new AbortController();
  state.stream = controller;
  setConnection("Connecting…", "connecting");
  try {
    const response = await fetch(streamUrl(), {
      headers: headers({ Accept: "text/event-stream" }),
      signal: controller.signal,
      cache: "no-store",
    });
    if (response.status === 401 && boot.adminToken) {
      askForToken("The admin token was refused; type it again.");
      return;
    }
    if (response.status === 422) {
      // A filter the fake refuses: trying again would not help.
      notice(await problem(response), true);
      setConnection("Not connected: the filters were refused", "down");
      return;
    }
    if (!response.ok) throw new Error(await problem(response));
    setConnection("Live", "live");
    await readEvents(response.body, handle);
    setConnection("The stream ended; reconnecting", "down");
  } catch (error) {
    if (controller.signal.aborted) return;
    setConnection(`Not connected (${error.message}); retrying`, "down");
  }
  if (state.stream === controller) window.setTimeout(() => state.stream === controller && connect(), RETRY_MS);
}

// Server-sent events, parsed as the HTML standard has it (the fields this stream uses).
async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (!line || line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = text;
        else if (field === "data") data.push(text);
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}

function handle(name, data) {
  if (name === "clock") showClock(data);
  else if (name === "scenarios") showScenarios(data);
  else if (name === "tenants") showTenants(data);
  else if (name === "tenant") showTenant(data);
  else if (name === "journal") showJournal(data);
  else if (name === "bye") setConnection("The server stopped; reconnecting", "down");
}

function setConnection(text, kind) {
  const line = $("connection");
  line.textContent = text;
  line.dataset.state = kind;
}

// ---------------------------------------------------------------------------------------------
// Drawing

function element(tag, text, attributes) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
  return node;
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    const td = document.createElement("td");
    if (cell instanceof Node) td.append(cell);
    else td.textContent = cell === null || cell === undefined ? "" : String(cell);
    tr.append(td);
  }
  return tr;
}

// Redraw `container` without losing the keyboard's place: the focused control, found again by
// its `data-key`, keeps the focus.
function redraw(container, draw) {
  const focused = container.contains(document.activeElement) ? document.activeElement.dataset.key : undefined;
  draw();
  if (focused) container.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();
}

function button(label, key, onClick, extra) {
  const node = element("button", label, { type: "button", "data-key": key, ...extra });
  node.addEventListener("click", onClick);
  return node;
}

function clockNow() {
  const { clock } = state;
  if (!clock) return null;
  const elapsed = clock.mode === "real" ? (performance.now() - clock.receivedAt) * clock.speed : 0;
  return new Date(Date.parse(clock.now) + elapsed);
}

function showClock(clock) {
  state.clock = { ...clock, receivedAt: performance.now() };
  $("clock-mode").textContent = clock.mode === "real" ? `real, ${clock.speed} times wall time` : "manual: moves when advanced";
  tickClock();
}

function tickClock() {
  const now = clockNow();
  if (!now) return;
  const text = now.toISOString().replace(/\.\d+Z$/, "Z");
  $("clock-now").textContent = text;
  $("clock-now").setAttribute("datetime", text);
}

function showScenarios(scenarios) {
  state.scenarios = scenarios;
  const body = $("scenarios").tBodies[0];
  const bound = state.view ? state.view.scenario : null;
  redraw(body, () => {
    body.replaceChildren(
      ...scenarios.map((scenario) => {
        const name = scenario.name;
        const path = `/_mock/scenarios/${encodeURIComponent(name)}`;
        const actions = element("div", null, { class: "actions" });
        if (scenario.active) {
          actions.append(button("Deactivate", `deactivate-${name}`, () => act(`Deactivated ${name}`, () => call("DELETE", `${path}/active`)), { "aria-label": `Deactivate ${name}` }));
        } else {
          actions.append(button("Activate", `activate-${name}`, () => act(`Activated ${name}`, () => call("PUT", `${path}/active`)), { "aria-label": `Activate ${name}` }));
        }
        if (state.tenant && bound === name) {
          actions.append(button("Unbind", `unbind-${name}`, () => act(`Unbound ${state.tenant}`, () => call("DELETE", `/_mock/binding?tenant=${encodeURIComponent(state.tenant)}`)), { "aria-label": `Unbind ${name} from the tenant` }));
        } else {
          const bind = button("Bind to tenant", `bind-${name}`, () => act(`Bound ${state.tenant} to ${name}`, () => call("PUT", `/_mock/binding?tenant=${encodeURIComponent(state.tenant)}`, { scenario: name })), { "aria-label": `Bind ${name} to the tenant` });
          bind.disabled = !state.tenant;
          actions.append(bind);
        }
        actions.append(button("Remove", `remove-${name}`, () => act(`Removed ${name}`, () => call("DELETE", path)), { "aria-label": `Remove ${name}` }));
        const what = [scenario.active ? "active" : "loaded"];
        if (scenario.boundTenants) what.push(`${scenario.boundTenants} bound`);
        const title = element("span", name, { title: scenario.description || "" });
        return row([title, what.join(", "), actions]);
      }),
    );
    if (!scenarios.length) body.append(row(["None loaded", "", ""]));
  });
}

function showTenants(listing) {
  const select = $("tenant");
  const options = [element("option", "Choose a tenant", { value: "" })];
  const labels = new Set();
  for (const tenant of listing.tenants) {
    labels.add(tenant.tenant);
    const extra = tenant.scenario ? `, bound to ${tenant.scenario}` : "";
    options.push(element("option", `${tenant.tenant} (${tenant.connectors} connectors${extra})`, { value: tenant.tenant }));
  }
  if (state.tenant && !labels.has(state.tenant)) options.push(element("option", state.tenant, { value: state.tenant }));
  select.replaceChildren(...options);
  select.value = state.tenant;
  const more = listing.total - listing.tenants.length;
  $("tenant-note").textContent = more > 0 ? `The ${listing.tenants.length} most recently seen of ${listing.total} tenants.` : "";
}

function showTenant(view) {
  state.view = view;
  const connectors = $("connectors").tBodies[0];
  const jobs = $("jobs");
  const flows = $("flows");
  if (!view) {
    connectors.replaceChildren();
    jobs.replaceChildren();
    flows.replaceChildren();
    if (state.tenant) $("tenant-note").textContent = `No tenant ${state.tenant} has called the API yet.`;
    showScenarios(state.scenarios);
    return;
  }
  const shown = view.connectors.length;
  $("tenant-note").textContent =
    (view.scenario ? `Bound to scenario ${view.scenario}. ` : "") +
    (view.connectorCount > shown ? `The newest ${shown} of ${view.connectorCount} connectors.` : "");
  connectors.replaceChildren(
    ...view.connectors.map((c) =>
      row([element("span", c.name, { title: c.id }), c.type, element("span", c.status, { class: `status ${c.status}` }), c.lastSync || "never", errorText(c.lastError)]),
    ),
  );
  jobs.replaceChildren(...view.jobs.map(jobItem));
  if (!view.jobs.length) jobs.append(element("li", "No sync jobs.", { class: "note" }));
  redraw(flows, () => {
    flows.replaceChildren(
      ...view.oauthFlows.map((flow) => {
        const item = element("li", `${flow.provider}${flow.name ? ` "${flow.name}"` : ""}, until ${flow.expiresAt}: `);
        item.append(element("a", "open the consent page", { href: flow.consentUrl, target: "_blank", rel: "noopener", "data-key": flow.state }));
        return item;
      }),
    );
    if (!view.oauthFlows.length) flows.append(element("li", "None.", { class: "note" }));
  });
  showScenarios(state.scenarios);
}

function errorText(error) {
  return error ? `${error.code}: ${error.message}` : "";
}

function jobItem(job) {
  const item = element("li", null, { class: `job ${job.status}`, "data-job": job.jobId });
  const title = element("p", null, { class: "job-title" });
  title.append(element("strong", job.connectorName || job.connectorId), ` ${job.jobId} `, element("span", job.status, { class: `status ${job.status}` }));
  item.append(title);
  for (const stage of ["collected", "parsed", "indexed"]) {
    const id = `${job.jobId}-${stage}`;
    const line = element("div", null, { class: "stage" });
    line.append(element("label", stage, { for: id }));
    line.append(element("progress", null, { id, max: String(job.total), value: String(job.progress[stage]) }));
    line.append(element("span", `${job.progress[stage]} / ${job.total}`, { class: "count" }));
    item.append(line);
  }
  if (job.error) item.append(element("p", errorText(job.error), { class: "error" }));
  return item;
}

function showJournal(page) {
  state.entries = page.replace ? page.entries : state.entries.concat(page.entries);
  state.entries = state.entries.slice(-JOURNAL_ROWS);
  const note = $("journal-note");
  if (page.skipped) note.textContent = `${page.skipped} more requests came in too fast to list; GET /_mock/journal has them.`;
  else if (page.replace) note.textContent = "";
  const body = $("journal").tBodies[0];
  redraw(body, () => {
    body.replaceChildren(
      ...state.entries
        .slice()
        .reverse()
        .map((entry) => {
          const detail = button("Detail", `entry-${entry.id}`, () => showEntry(entry), { "aria-label": `Detail of entry ${entry.id}` });
          if (entry.event) return row([entry.at, "", `${entry.event}: ${entry.detail}`, "", "", "", "", detail]);
          const status = element("span", entry.status ?? "none", { class: `code c${String(entry.status ?? 0)[0]}` });
          return row([entry.at.slice(11), entry.method, entry.path, status, entry.durationMs, entry.scenario, entry.fault, detail]);
        }),
    );
  });
}

function showEntry(entry) {
  $("entry-json").textContent = JSON.stringify(entry, null, 2);
  $("entry").hidden = false;
  $("entry-heading").focus();
}

// ---------------------------------------------------------------------------------------------
// Actions

function secondsToEndOfJobs() {
  const now = clockNow();
  const ends = (state.view ? state.view.jobs : [])
    .filter((job) => (job.status === "queued" || job.status === "running") && job.endsAt)
    .map((job) => Date.parse(job.endsAt));
  if (!now || !ends.length) return null;
  // `endsAt` is to the second: one more makes sure the last job has ended.
  return Math.max(0, Math.ceil((Math.max(...ends) - now.getTime()) / 1000) + 1);
}

function download(name, text) {
  const link = element("a", null, { href: URL.createObjectURL(new Blob([text], { type: "application/json" })), download: name });
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

function askForToken(message) {
  window.sessionStorage.removeItem(TOKEN_KEY);
  if (state.stream) state.stream.abort();
  state.stream = null;
  $("board").hidden = true;
  $("token-form").hidden = false;
  $("token-error").textContent = message || "";
  setConnection("Waiting for the admin token", "down");
  $("token").focus();
}

function selectTenant(label) {
  state.tenant = label;
  const url = new URL(window.location.href);
  if (label) url.searchParams.set("tenant", label);
  else url.searchParams.delete("tenant");
  // The URL names the tenant, so a link opens it; no credential is in it.
  window.history.replaceState(null, "", url);
  state.view = null;
  connect();
}

function wire() {
  for (const name of boot.examples) $("example").append(element("option", name, { value: name }));
  for (const name of boot.operations) $("operation-filter").append(element("option", name, { value: name }));

  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    window.sessionStorage.setItem(TOKEN_KEY, $("token").value);
    $("token").value = "";
    $("token-form").hidden = true;
    $("board").hidden = false;
    connect();
  });
  $("tenant").addEventListener("change", (event) => selectTenant(event.target.value));
  $("journal-filters").addEventListener("change", () => connect());
  $("journal-filters").addEventListener("submit", (event) => event.preventDefault());

  $("advance-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const seconds = Number($("advance-seconds").value);
    act(`Advanced the clock ${seconds} s`, () => call("POST", "/_mock/clock/advance", { seconds }));
  });
  $("advance-end").addEventListener("click", () => {
    const seconds = secondsToEndOfJobs();
    if (seconds === null) {
      notice("No running job of this tenant has an end to advance to.", true);
      return;
    }
    act(`Advanced the clock ${seconds} s`, () => call("POST", "/_mock/clock/advance", { seconds }));
  });

  $("example-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("example").value;
    const activate = $("example-activate").checked;
    act(`Loaded ${name}${activate ? ", active" : ""}`, () => call("POST", `/_mock/scenarios?example=${encodeURIComponent(name)}&activate=${activate}`));
  });
  $("file-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const [file] = $("scenario-file").files;
    act(`Loaded ${file.name}`, async () => call("POST", "/_mock/scenarios", await file.text(), "application/yaml"));
  });

  $("reset").addEventListener("click", () => {
    if (window.confirm("Reset every tenant to the fixtures?")) act("Reset every tenant", () => call("POST", "/_mock/reset"));
  });
  $("export").addEventListener("click", () =>
    act("Exported the state", async () => {
      const response = await call("GET", "/_mock/state");
      const stamp = (state.clock ? state.clock.now : "state").replace(/[:]/g, "-");
      download(`connectors-mock-state-${stamp}.json`, await response.text());
    }),
  );
  $("import-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const [file] = $("import-file").files;
    act(`Imported ${file.name}`, async () => call("PUT", "/_mock/state", await file.text()));
  });
  $("entry-close").addEventListener("click", () => {
    $("entry").hidden = true;
  });

  window.setInterval(tickClock, 1000);
  if (boot.adminToken && !window.sessionStorage.getItem(TOKEN_KEY)) askForToken();
  else connect();
}

wire();
