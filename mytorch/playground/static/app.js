// The playground page: its settings (kept in the address), the live connection to the
// server where MyTorch trains, and the controls.
"use strict";

const state = {
  options: null,
  config: null, // the settings as the server last accepted them
  socket: null,
  playing: false,
  data: null,
  frame: null,
  selected: 0,
  featureLabels: [],
  frames: 0, // frames received: the update rate is measured from it
};

const $ = (id) => document.getElementById(id);

function status(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

// ------------------------------------------------------------------ the address
function readAddress(defaults) {
  const query = new URLSearchParams(window.location.search);
  const config = {};
  for (const [key, value] of query.entries()) {
    if (!(key in defaults)) continue;
    const kind = defaults[key];
    if (Array.isArray(kind)) {
      const parts = value === "" ? [] : value.split(",");
      config[key] = key === "hidden" ? parts.map(Number) : parts;
    } else if (typeof kind === "boolean") {
      config[key] = value === "1" || value === "true";
    } else if (typeof kind === "number") {
      config[key] = Number(value);
    } else {
      config[key] = value;
    }
  }
  return config;
}

function writeAddress(config) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(config)) {
    query.set(key, Array.isArray(value) ? value.join(",")
      : typeof value === "boolean" ? (value ? "1" : "0") : String(value));
  }
  history.replaceState(null, "", `${window.location.pathname}?${query.toString()}`);
}

// ------------------------------------------------------------------ the connection
function send(message) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify(message));
  }
}

function configure(changes) {
  const config = { ...state.config, ...changes };
  setPlaying(false);
  send({ type: "config", config });
}

function connect(initial) {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${window.location.host}/ws`);
  state.socket = socket;
  socket.onopen = () => send({ type: "config", config: initial });
  socket.onmessage = (event) => receive(JSON.parse(event.data));
  socket.onclose = (event) => {
    setPlaying(false);
    status(`Disconnected from the server${event.reason ? `: ${event.reason}` : ""}; reload the page.`, true);
  };
}

function receive(message) {
  if (message.type === "ready") {
    state.config = message.config;
    state.data = message.data;
    state.selected = 0;
    writeAddress(state.config);
    showConfig(state.config);
    Panels.share(message);
    $("snippet").textContent = "";
    status("Ready: press play, or one step.");
  } else if (message.type === "frame") {
    state.frame = message;
    state.frames += 1;
    showFrame(message);
  } else if (message.type === "inside") {
    if (message.index === state.selected) Panels.inside(message);
  } else if (message.type === "export") {
    $("command").textContent = message.command;
    $("snippet").textContent = message.snippet;
  } else if (message.type === "error") {
    status(message.message, true);
    if (!state.config) send({ type: "config", config: {} }); // a bad address: defaults
  }
}

function fixed(value, digits = 4) {
  return value === null || value === undefined ? "-" : Number(value).toFixed(digits);
}

function showFrame(frame) {
  $("epoch").textContent = frame.epoch;
  $("epochs").textContent = frame.epochs;
  $("stepcount").textContent = frame.step;
  $("lr-now").textContent = Number(frame.lr).toPrecision(3);
  $("train-loss").textContent = fixed(frame.train_loss);
  $("test-loss").textContent = fixed(frame.test_loss);
  $("train-acc").textContent = frame.train_accuracy === null ? "-"
    : `${(100 * frame.train_accuracy).toFixed(1)}%`;
  $("test-acc").textContent = frame.test_accuracy === null ? "-"
    : `${(100 * frame.test_accuracy).toFixed(1)}%`;
  Draw.boundary($("boundary"), frame, state.data, state.selected);
  Draw.network($("network"), frame, state.featureLabels);
  Draw.curves($("curves"), frame.curves);
  Panels.diagnostics(frame.advice, frame.table);
  if (frame.error) {
    status(frame.error, true);
    setPlaying(false);
  } else if (frame.finished && state.playing) {
    status(`Finished the ${frame.epochs} epochs; raise "epochs" to train longer.`);
    setPlaying(false);
  }
}

function setPlaying(playing) {
  state.playing = playing;
  $("play").innerHTML = playing ? "&#x23F8; pause" : "&#x25B6; play";
}

// ------------------------------------------------------------------ the controls
function fillSelect(id, names) {
  const select = $(id);
  select.textContent = "";
  for (const name of names) {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = name.replaceAll("_", " ");
    select.appendChild(option);
  }
}

function buildControls(options) {
  for (const [id, names] of [["activation", options.activations], ["init", options.inits],
    ["loss", options.losses], ["optimizer", options.optimizers],
    ["schedule", options.schedules]]) fillSelect(id, names);
  const datasets = $("datasets");
  for (const name of options.datasets) {
    const button = document.createElement("button");
    button.textContent = name;
    button.dataset.name = name;
    button.addEventListener("click", () => configure({ dataset: name }));
    datasets.appendChild(button);
  }
  const features = $("features");
  for (const [name, label] of Object.entries(options.features)) {
    const wrap = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = name;
    box.id = `feature-${name}`;
    box.addEventListener("change", () => {
      const chosen = [...features.querySelectorAll("input:checked")].map((b) => b.value);
      if (chosen.length === 0) { box.checked = true; return; }
      configure({ features: chosen });
    });
    wrap.appendChild(box);
    wrap.appendChild(document.createTextNode(` ${label}`));
    features.appendChild(wrap);
  }
  // Plain settings: a change restarts the run with it.
  for (const id of ["activation", "init", "loss", "optimizer", "schedule"]) {
    $(id).addEventListener("change", () => configure({ [id]: $(id).value }));
  }
  for (const id of ["noise", "points", "test_share", "dropout"]) {
    $(id).addEventListener("input", () => { $(`${id}-value`).textContent = $(id).value; });
    $(id).addEventListener("change", () => configure({ [id]: Number($(id).value) }));
  }
  for (const [id, key] of [["seed", "seed"], ["lr", "lr"], ["momentum", "momentum"],
    ["batch_size", "batch_size"], ["weight_decay", "weight_decay"],
    ["epochs-setting", "epochs"]]) {
    $(id).addEventListener("change", () => configure({ [key]: Number($(id).value) }));
  }
  $("batch_norm").addEventListener("change", () => configure({ batch_norm: $("batch_norm").checked }));
  $("add-layer").addEventListener("click", () => {
    const hidden = state.config.hidden;
    if (hidden.length < options.limits.layers[1]) configure({ hidden: [...hidden, hidden.at(-1) || 4] });
  });
  $("remove-layer").addEventListener("click", () => {
    if (state.config.hidden.length) configure({ hidden: state.config.hidden.slice(0, -1) });
  });
  $("speed").addEventListener("input", () => { $("speed-value").textContent = $("speed").value; });
  $("speed").addEventListener("change", () => {
    const speed = Number($("speed").value);
    state.config.speed = speed;
    writeAddress(state.config);
    send({ type: "speed", speed });
  });
  $("play").addEventListener("click", () => {
    setPlaying(!state.playing);
    send({ type: state.playing ? "play" : "pause" });
    status(state.playing ? "Training…" : "Paused: press play, or one step.");
  });
  $("step").addEventListener("click", () => { setPlaying(false); send({ type: "step" }); });
  $("reset").addEventListener("click", () => { setPlaying(false); send({ type: "reset" }); });
  $("boundary").addEventListener("click", (event) => {
    if (!state.data) return;
    const index = Draw.nearestPoint($("boundary"), state.data, event);
    if (index === null) return;
    state.selected = index;
    Draw.boundary($("boundary"), state.frame, state.data, index);
    send({ type: "inspect", index });
  });
  $("copy-url").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(window.location.href);
      status("Address copied: it opens this page with these settings.");
    } catch (error) {
      status(`Copy this address: ${window.location.href}`);
    }
  });
  $("show-snippet").addEventListener("click", () => send({ type: "export" }));
}

// A +/- pair above each hidden layer's column of the network picture.
function unitButtons(hidden) {
  const holder = $("unit-buttons");
  holder.textContent = "";
  const canvas = $("network");
  const columns = Draw.layout([1, ...hidden, 2], canvas.width, canvas.height);
  const scale = canvas.getBoundingClientRect().width / canvas.width || 1;
  hidden.forEach((units, layer) => {
    const box = document.createElement("div");
    box.className = "layer";
    const more = document.createElement("button");
    more.textContent = "+";
    more.id = `more-units-${layer}`;
    more.addEventListener("click", () => {
      const next = [...state.config.hidden];
      next[layer] = Math.min(state.options.limits.units[1], next[layer] + 1);
      configure({ hidden: next });
    });
    const fewer = document.createElement("button");
    fewer.textContent = "−";
    fewer.id = `fewer-units-${layer}`;
    fewer.addEventListener("click", () => {
      const next = [...state.config.hidden];
      next[layer] = Math.max(1, next[layer] - 1);
      configure({ hidden: next });
    });
    box.style.left = `${columns[layer + 1][0].x * scale - 39}px`;
    const label = document.createElement("span");
    label.textContent = `${units} unit${units === 1 ? "" : "s"}`;
    const row = document.createElement("div");
    row.append(more, fewer);
    box.append(row, label);
    holder.appendChild(box);
  });
}

function showConfig(config) {
  for (const button of $("datasets").children) {
    button.classList.toggle("chosen", button.dataset.name === config.dataset);
  }
  for (const box of $("features").querySelectorAll("input")) {
    box.checked = config.features.includes(box.value);
  }
  state.featureLabels = config.features.map((name) => state.options.features[name]);
  for (const id of ["activation", "init", "loss", "optimizer", "schedule", "noise", "points",
    "test_share", "dropout", "seed", "lr", "momentum", "batch_size", "weight_decay", "speed"]) {
    $(id).value = config[id];
    const shown = $(`${id}-value`);
    if (shown) shown.textContent = config[id];
  }
  $("epochs-setting").value = config.epochs;
  $("batch_norm").checked = config.batch_norm;
  $("layer-count").textContent = `${config.hidden.length} hidden layer${config.hidden.length === 1 ? "" : "s"}`;
  unitButtons(config.hidden);
}

async function start() {
  const response = await fetch("/api/options");
  state.options = await response.json();
  buildControls(state.options);
  connect(readAddress(state.options.defaults));
}

start().catch((error) => status(`The page could not start: ${error}`, true));
