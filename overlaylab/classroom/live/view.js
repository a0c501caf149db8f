// The live lab: draws what /events sends (overlaylab.classroom.liveview), again on every change.
// Elements are marked for tests and tools: data-node, data-link + data-state, data-vm + data-server.
"use strict";
const SVG = "http://www.w3.org/2000/svg";
const VM_W = 46, VM_H = 18, BOX_W = 52, BOX_H = 30;

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

function draw(lab) {
  const svg = document.getElementById("lab");
  svg.replaceChildren();
  svg.setAttribute("viewBox", `-130 -40 ${lab.width + 160} ${lab.height + 80}`);
  const at = Object.fromEntries(lab.nodes.map(n => [n.name, n]));
  for (const link of lab.links) {
    const a = at[link.a], b = at[link.b];
    element("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, "data-link": `${link.a}-${link.b}`,
                      "data-state": link.state }, svg);
  }
  label(svg, -125, 0, "underlay", "layer");
  label(svg, -125, at[lab.nodes.find(n => n.role === "server").name].y, "servers", "layer");
  label(svg, -125, at[lab.nodes.find(n => n.role === "server").name].y + 70, "overlay", "layer");
  for (const node of lab.nodes) {
    const g = element("g", { "data-node": node.name, "data-role": node.role }, svg);
    element("rect", { x: node.x - BOX_W / 2, y: node.y - BOX_H / 2, width: BOX_W, height: BOX_H, rx: 4 }, g);
    label(g, node.x, node.y, node.name);
    if (node.address) element("title", {}, g).textContent = `${node.name} ${node.address}: its virtual switch`;
  }
  const stacked = {};
  for (const vm of lab.vms) {
    const server = at[vm.server], row = stacked[vm.server] = (stacked[vm.server] || 0) + 1;
    const y = server.y + BOX_H / 2 + row * (VM_H + 4);
    const g = element("g", { "data-vm": vm.vm, "data-server": vm.server }, svg);
    element("rect", { x: server.x - VM_W / 2, y: y - VM_H / 2, width: VM_W, height: VM_H, rx: 3,
                      fill: vm.colour }, g);
    label(g, server.x, y, vm.vm.split("/")[1]);
    element("title", {}, g).textContent = `${vm.vm} ${vm.address} on ${vm.server}`;
  }
  document.getElementById("legend").innerHTML = lab.tenants.map(
    t => `<span><i style="background:${t.colour}"></i>${t.name}: VNI ${t.vni}, ${t.encap}</span>`).join("");
}

function follow() {
  const events = new EventSource("/events");
  events.onmessage = message => {
    draw(JSON.parse(message.data));
    document.getElementById("status").textContent = `live, ${new Date().toLocaleTimeString()}`;
  };
  events.onerror = () => { document.getElementById("status").textContent = "the lab is gone (or restarting)"; };
}

follow();
