// Drawing the playground: heat-maps, the decision boundary with the data, the network
// with its weights, and the loss curves. Plain canvas; nothing loaded from elsewhere.
"use strict";

const Draw = (() => {
  const ORANGE = [245, 147, 34];
  const BLUE = [8, 119, 189];

  // Byte 0..255 stands for -1..1: orange through white to blue.
  const LUT = new Uint8ClampedArray(256 * 3);
  for (let b = 0; b < 256; b++) {
    const t = b / 127.5 - 1;
    const end = t < 0 ? ORANGE : BLUE;
    const a = Math.min(1, Math.abs(t));
    for (let c = 0; c < 3; c++) LUT[b * 3 + c] = Math.round(255 + (end[c] - 255) * a);
  }

  function decode(base64) {
    const text = atob(base64);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  }

  // One square picture of size x size values, as a small canvas to scale up.
  function picture(bytes, size) {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = size;
    const context = canvas.getContext("2d");
    const image = context.createImageData(size, size);
    for (let i = 0; i < size * size; i++) {
      const b = bytes[i];
      image.data[4 * i] = LUT[b * 3];
      image.data[4 * i + 1] = LUT[b * 3 + 1];
      image.data[4 * i + 2] = LUT[b * 3 + 2];
      image.data[4 * i + 3] = 255;
    }
    context.putImageData(image, 0, 0);
    return canvas;
  }

  function heatmap(context, base64, size, x, y, w, h) {
    context.imageSmoothingEnabled = true;
    context.drawImage(picture(decode(base64), size), x, y, w, h);
  }

  function toPixel(point, extent, width, height) {
    return [((point[0] + extent) / (2 * extent)) * width,
      ((extent - point[1]) / (2 * extent)) * height];
  }

  function boundary(canvas, frame, data, selected) {
    const context = canvas.getContext("2d");
    const { width, height } = canvas;
    context.clearRect(0, 0, width, height);
    if (frame) heatmap(context, frame.output, frame.output_grid, 0, 0, width, height);
    if (!data) return;
    const sets = [[data.test, data.test_labels, "#000"], [data.train, data.train_labels, "#fff"]];
    for (const [points, labels, ring] of sets) {
      for (let i = 0; i < points.length; i++) {
        const [px, py] = toPixel(points[i], data.extent, width, height);
        context.beginPath();
        context.arc(px, py, 3.2, 0, 2 * Math.PI);
        context.fillStyle = labels[i] ? "rgb(8,119,189)" : "rgb(245,147,34)";
        context.fill();
        context.lineWidth = 1;
        context.strokeStyle = ring;
        context.stroke();
      }
    }
    if (selected !== null && selected < data.train.length) {
      const [px, py] = toPixel(data.train[selected], data.extent, width, height);
      context.beginPath();
      context.arc(px, py, 8, 0, 2 * Math.PI);
      context.lineWidth = 2.5;
      context.strokeStyle = "#d0006f";
      context.stroke();
    }
  }

  // The training point nearest a click, or null if none is within 12 pixels.
  function nearestPoint(canvas, data, event) {
    const box = canvas.getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * canvas.width;
    const y = ((event.clientY - box.top) / box.height) * canvas.height;
    let best = null;
    let bestDistance = 144;
    data.train.forEach((point, i) => {
      const [px, py] = toPixel(point, data.extent, canvas.width, canvas.height);
      const distance = (px - x) ** 2 + (py - y) ** 2;
      if (distance < bestDistance) { best = i; bestDistance = distance; }
    });
    return best;
  }

  // Where each column's nodes sit: inputs, hidden layers, the two logits.
  function layout(sizes, width, height) {
    const columns = sizes.length;
    const node = Math.min(40, Math.floor((height - 20) / (Math.max(...sizes) * 1.25)));
    const margin = 50; // room for the input features' names
    const spacing = (width - margin) / columns;
    return sizes.map((count, c) => {
      const x = margin + spacing * (c + 0.5);
      const gap = node * 1.25;
      const top = height / 2 - (gap * count) / 2 + (gap - node) / 2;
      return Array.from({ length: count }, (_, i) => ({ x, y: top + i * gap, size: node }));
    });
  }

  function network(canvas, frame, featureLabels) {
    const context = canvas.getContext("2d");
    const { width, height } = canvas;
    context.clearRect(0, 0, width, height);
    if (!frame) return [];
    const sizes = [frame.units[0].length, ...frame.units.slice(1).map((l) => l.length), 2];
    const nodes = layout(sizes, width, height);
    // Weights first, under the nodes: thickness is |w|, colour its sign.
    frame.weights.forEach((layer, l) => {
      layer.weight.forEach((row, out) => {
        row.forEach((w, input) => {
          const from = nodes[l][input];
          const to = nodes[l + 1][out];
          context.beginPath();
          context.moveTo(from.x + from.size / 2, from.y + from.size / 2);
          context.lineTo(to.x - to.size / 2, to.y + to.size / 2);
          context.lineWidth = Math.min(7, 0.4 + 1.6 * Math.abs(w));
          context.strokeStyle = w > 0 ? "rgba(8,119,189,0.75)" : "rgba(245,147,34,0.75)";
          context.stroke();
        });
      });
    });
    frame.units.forEach((layer, c) => {
      layer.forEach((bytes, i) => {
        const n = nodes[c][i];
        heatmap(context, bytes, frame.unit_grid, n.x - n.size / 2, n.y, n.size, n.size);
        context.strokeStyle = "#999";
        context.lineWidth = 1;
        context.strokeRect(n.x - n.size / 2, n.y, n.size, n.size);
        if (c === 0) {
          context.fillStyle = "#333";
          context.font = "12px system-ui, sans-serif";
          context.textAlign = "right";
          context.fillText(featureLabels[i] || "", n.x - n.size / 2 - 4, n.y + n.size / 2 + 4);
        }
      });
    });
    nodes[nodes.length - 1].forEach((n, k) => {
      context.fillStyle = k ? "rgb(8,119,189)" : "rgb(245,147,34)";
      context.fillRect(n.x - n.size / 2, n.y, n.size, n.size);
      context.fillStyle = "#fff";
      context.font = "11px system-ui, sans-serif";
      context.textAlign = "center";
      context.fillText(`class ${k}`, n.x, n.y + n.size / 2 + 4);
    });
    return nodes;
  }

  function curves(canvas, data) {
    const context = canvas.getContext("2d");
    const { width, height } = canvas;
    context.clearRect(0, 0, width, height);
    if (!data || data.steps.length < 1) return;
    const values = data.train.concat(data.test).filter((v) => v !== null && isFinite(v));
    const top = Math.max(1e-9, ...values) * 1.05;
    const last = Math.max(1, data.steps[data.steps.length - 1]);
    context.strokeStyle = "#eee";
    context.lineWidth = 1;
    for (let k = 1; k < 4; k++) {
      context.beginPath();
      context.moveTo(0, (k * height) / 4);
      context.lineTo(width, (k * height) / 4);
      context.stroke();
    }
    for (const [series, colour] of [[data.train, "#333"], [data.test, "rgb(245,147,34)"]]) {
      context.beginPath();
      let started = false;
      series.forEach((v, i) => {
        if (v === null) return;
        const x = (data.steps[i] / last) * (width - 4) + 2;
        const y = height - 2 - (v / top) * (height - 4);
        if (started) context.lineTo(x, y); else context.moveTo(x, y);
        started = true;
      });
      context.strokeStyle = colour;
      context.lineWidth = 2;
      context.stroke();
    }
    context.fillStyle = "#666";
    context.font = "11px system-ui, sans-serif";
    context.textAlign = "left";
    context.fillText(top.toPrecision(3), 3, 11);
    context.textAlign = "right";
    context.fillText(`step ${last}`, width - 3, height - 4);
  }

  return { boundary, nearestPoint, network, curves, layout };
})();
