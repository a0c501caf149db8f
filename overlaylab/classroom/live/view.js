// The live lab: draws what /events sends (overlaylab.classroom.liveview), again on every change; each
// cable's rates once a second; a traced packet's predicted paths, then the cables it was seen on, one by one.
// Elements are marked for tests and tools: data-node, data-link + data-state (+ data-bps, data-pps),
// data-vm + data-server, data-path, data-hop; data-machine on every node of a lab over several machines.
"use strict";
const SVG = "http://www.w3.org/2000/svg";
const VM_W = 46, VM_H = 18, BOX_W = 52, BOX_H = 30, HOP_MS = 700, LABELLED_RATES = 8;
const KEY = new URLSearchParams(location.hash.slice(1)).get("key");  // the lab's secret: buttons work
let lab = null, whole = null, zoomed = null, at = {}, shownTrace = 0, chosen = null, lastRates = {}, traceDrawings = 0;

function element(name, attributes, parent) {
  const made = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) made.setAttribute(key, value);
  if (parent) parent.appendChild(made);
  return made;
}

function label(parent, x, y, text, cls) {
  const t = element("text", { x, y }, parent);
  if (cls) t.setAttribute("class", cls);
  t.textContent = text;
  return t;
}

function say(text) { document.getElementById("said").textContent = text; }
function connection(text) { document.getElementById("status").textContent = text; }

function draw() {
  const svg = document.getElementById("lab");
  svg.replaceChildren();
  whole = [-150, -40, lab.width + 180, lab.height + 60];
  svg.setAttribute("viewBox", (zoomed || whole).join(" "));
  at = Object.fromEntries(lab.nodes.map(n => [n.name, n]));
  const buttons = lab.buttons && KEY;
  for (const link of lab.links) {
    const a = at[link.a], b = at[link.b], id = `${link.a}-${link.b}`;
    element("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, "data-link": id, "data-state": link.state }, svg);
    if (buttons) element("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: "hit" }, svg)
      .addEventListener("click", () => act({ do: "link", a: link.a, b: link.b, up: link.state === "down" }));
  }
  const server = lab.nodes.find(n => n.role === "server");
  label(svg, -145, 0, "underlay", "layer");
  label(svg, -145, 22, "fabric", "sublayer");
  label(svg, -145, server.y, "servers", "layer");
  label(svg, -145, server.y + 22, "virtual switches", "sublayer");
  label(svg, -145, server.y + 70, "overlay", "layer");
  label(svg, -145, server.y + 92, "tenants' VMs", "sublayer");
  element("g", { id: "rates" }, svg);
  for (const node of lab.nodes) {
    const g = element("g", { "data-node": node.name, "data-role": node.role, "data-state": node.state }, svg);
    if (node.machine) g.setAttribute("data-machine", node.machine);
    element("rect", { x: node.x - BOX_W / 2, y: node.y - BOX_H / 2, width: BOX_W, height: BOX_H, rx: 4 }, g);
    label(g, node.x, node.y, node.name);
    const on = node.machine ? ` (on ${node.machine})` : "";
    if (!node.address && on) element("title", {}, g).textContent = `${node.name}${on}`;
    if (node.address) {
      element("title", {}, g).textContent = `${node.name} ${node.address}${on}: its virtual switch`;
      g.addEventListener("click", () => choose({ server: node.name }));
    }
  }
  const stacked = {};
  for (const vm of lab.vms) {
    const host = at[vm.server], row = stacked[vm.server] = (stacked[vm.server] || 0) + 1;
    const y = host.y + BOX_H / 2 + row * (VM_H + 4);
    at[vm.vm] = { x: host.x, y };
    const g = element("g", { "data-vm": vm.vm, "data-server": vm.server }, svg);
    element("rect", { x: host.x - VM_W / 2, y: y - VM_H / 2, width: VM_W, height: VM_H, rx: 3, fill: vm.colour }, g);
    label(g, host.x, y, vm.vm.split("/")[1]);
    element("title", {}, g).textContent = `${vm.vm} ${vm.address} on ${vm.server}`;
    g.addEventListener("click", () => choose({ vm: vm.vm }));
  }
  element("g", { id: "trace" }, svg);
  document.getElementById("tenants").innerHTML = lab.tenants.map(
    t => `<span><i style="background:${t.colour}"></i>${t.name}: VNI ${t.vni}, ${t.encap}` +
         `${t.routing === "distributed" ? ", routed" : ""}</span>`).join("");
  document.getElementById("hint").textContent = buttons
    ? "click two VMs: trace a packet; a VM then a server: migrate it; a cable: down or up; wheel: zoom"
    : "click two VMs: trace a packet between them; wheel: zoom, drag: move, double-click: all";
  if (lab.trace) showTrace(lab.trace, lab.trace.seq !== shownTrace);
}

function showRates(rates) {
  const layer = document.getElementById("rates");
  if (!layer) return;
  layer.replaceChildren();
  for (const line of document.querySelectorAll("line[data-link]")) {
    const [pps, bps] = rates[line.dataset.link] || [0, 0];
    line.dataset.pps = pps;
    line.dataset.bps = bps;
    line.style.strokeWidth = 2 + 1.5 * Math.max(0, Math.log10(bps + 1) - 3);
    line.querySelector("title")?.remove();
    element("title", {}, line).textContent = `${line.dataset.link}: ${pps} packets/s, ${rate(bps)}`;
  }
  const busiest = Object.entries(rates).filter(([, r]) => r[1] > 0).sort((a, b) => b[1][1] - a[1][1]);
  for (const [link, [, bps]] of busiest.slice(0, LABELLED_RATES)) {
    const line = document.querySelector(`line[data-link="${link}"]`);
    if (!line) continue;
    const x = (+line.getAttribute("x1") + +line.getAttribute("x2")) / 2;
    const y = (+line.getAttribute("y1") + +line.getAttribute("y2")) / 2;
    label(layer, x, y, rate(bps), "rate");
  }
}

function rate(bps) {
  const units = [[1e9, "Gbit/s"], [1e6, "Mbit/s"], [1e3, "kbit/s"]];
  const [size, unit] = units.find(([size]) => bps >= size) || [1, "bit/s"];
  return `${(bps / size).toFixed(bps >= size * 10 ? 0 : 1)} ${unit}`;
}

function centre(name) { return at[name] || { x: 0, y: 0 }; }

function showTrace(trace, animate) {
  shownTrace = trace.seq;
  const layer = document.getElementById("trace");
  layer.replaceChildren();
  layer.setAttribute("data-trace", trace.seq);
  trace.paths.forEach((path, i) => {
    const points = [trace.src, ...path.nodes, ...(path.delivered && at[path.to] ? [path.to] : [])]
      .map(centre).map(p => `${p.x},${p.y}`).join(" ");
    element("polyline", { points, class: "predicted", "data-path": i + 1 }, layer);
  });
  const hops = [...(trace.observed || [])];
  if (trace.observed && trace.observed.length) {
    const inner = trace.observed[0].inner;
    hops.unshift({ from: trace.src, to: trace.observed[0].from, outer: "", tunnel: "", inner, step: 0 });
    if (trace.delivered && !trace.reached) {
      hops.push({ from: hops[hops.length - 1].to, to: trace.dst, outer: "", tunnel: "", inner });
    }
  }
  const list = document.getElementById("hops");
  list.replaceChildren();
  document.getElementById("traced").hidden = false;
  const seen = trace.reached ? `received by ${trace.reached.join(", ") || "nobody"}`
    : `path ${trace.taken === null ? "none" : trace.taken + 1} taken, ${trace.delivered ? "" : "not "}delivered`;
  document.getElementById("traced-title").textContent = `${trace.src} → ${trace.dst}: ${trace.paths.length} ` +
    `predicted paths` + (trace.observed ? `, ${seen}` : "");
  if (!trace.observed) {  // predicted only (between servers, or to every copy of a broadcast): each path's end
    trace.paths.forEach((path, i) => {
      const item = document.createElement("li");
      item.textContent = `path ${i + 1}: ${path.nodes.join(" → ")}: ${path.verdict}`;
      list.appendChild(item);
    });
  }
  const drawing = ++traceDrawings;  // a redraw ends the animation of the one before
  hops.forEach((hop, i) => setTimeout(() => drawing === traceDrawings && showHop(layer, list, hop, i === hops.length - 1),
                                      animate ? ((hop.step ?? i) + 1) * HOP_MS : 0));  // a broadcast's copies together
}

function showHop(layer, list, hop, last) {
  const a = centre(hop.from), b = centre(hop.to);
  element("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: "observed", "data-hop": `${hop.from}-${hop.to}` },
          layer);
  label(layer, a.x + (b.x - a.x) * 0.3 + 8, a.y + (b.y - a.y) * 0.3, hop.tunnel ? hop.tunnel.replace(/ sport \d+/, "") : "VM packet",
        "hoplabel");
  for (const old of list.querySelectorAll(".now")) old.classList.remove("now");
  const item = document.createElement("li");
  item.className = last ? "" : "now";
  item.append(`${hop.from} → ${hop.to}`);
  for (const [cls, text] of [["outer", hop.outer && `outer ${hop.outer}`], ["tunnel", hop.tunnel],
                             ["inner", `${hop.outer ? "inner " : ""}${hop.inner}`]]) {
    if (!text) continue;
    const line = document.createElement("span");
    line.className = cls;
    line.textContent = text;
    item.appendChild(line);
  }
  list.appendChild(item);
}

function choose(picked) {
  if (picked.vm && (!chosen || chosen.vm === picked.vm)) {
    chosen = picked;
    say(`${picked.vm} chosen: click another VM to trace to it` + (lab.buttons && KEY ? ", or a server to move it" : ""));
  } else if (chosen && picked.vm) {
    act({ do: "trace", src: chosen.vm, dst: picked.vm, proto: "udp" });
    chosen = null;
  } else if (chosen && picked.server && lab.buttons && KEY) {
    act({ do: "migrate", vm: chosen.vm, server: picked.server });
    chosen = null;
  }
}

async function act(asked) {
  say(`asking the lab: ${Object.values(asked).join(" ")}…`);
  const headers = { "Content-Type": "application/json", ...(KEY ? { Authorization: `Bearer ${KEY}` } : {}) };
  const answer = await fetch("/act", { method: "POST", headers, body: JSON.stringify(asked) });
  const said = await answer.json();
  say(said.done || `refused: ${said.error}`);
}

// Zoom with the wheel (where the pointer is), pan by dragging, double-click for the whole lab: at k=8 a
// pod fills the screen when zoomed; redraws keep the zoom.
function zoomable(svg) {
  const box = () => (zoomed || whole);
  const point = e => {
    const r = svg.getBoundingClientRect(), [x, y, w, h] = box(), scale = Math.max(w / r.width, h / r.height);
    return [x + (e.clientX - r.left - (r.width - w / scale) / 2) * scale,
            y + (e.clientY - r.top - (r.height - h / scale) / 2) * scale, scale];
  };
  svg.addEventListener("wheel", e => {
    e.preventDefault();
    const [px, py] = point(e), f = e.deltaY > 0 ? 1.25 : 0.8, [x, y, w, h] = box();
    zoomed = [px - (px - x) * f, py - (py - y) * f, w * f, h * f];
    svg.setAttribute("viewBox", zoomed.join(" "));
  }, { passive: false });
  let from = null;
  svg.addEventListener("pointerdown", e => { from = [e.clientX, e.clientY, ...box()]; });
  svg.addEventListener("pointermove", e => {
    if (!from || (Math.abs(e.clientX - from[0]) + Math.abs(e.clientY - from[1]) < 4)) return;
    const scale = point(e)[2];
    zoomed = [from[2] - (e.clientX - from[0]) * scale, from[3] - (e.clientY - from[1]) * scale, from[4], from[5]];
    svg.setAttribute("viewBox", zoomed.join(" "));
  });
  svg.addEventListener("pointerup", () => { from = null; });
  svg.addEventListener("dblclick", () => { zoomed = null; svg.setAttribute("viewBox", whole.join(" ")); });
}

function follow() {
  const events = new EventSource("/events");
  events.addEventListener("state", message => {
    lab = JSON.parse(message.data);
    draw();
    showRates(lastRates);
    connection(`live, ${new Date().toLocaleTimeString()}`);
  });
  events.addEventListener("rates", message => showRates(lastRates = JSON.parse(message.data)));
  events.onerror = () => connection("the lab is gone (or restarting)");
}

zoomable(document.getElementById("lab"));
follow();
