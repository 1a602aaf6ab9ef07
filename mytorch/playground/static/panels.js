// The panels under the pictures: inside a step, the diagnostics' advice, sharing.
"use strict";

const Panels = (() => {
  function element(tag, attributes = {}, text = "") {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    if (text) node.textContent = text;
    return node;
  }

  function numbers(value) {
    if (value === null || value === undefined) return "";
    const flat = Array.isArray(value) ? value.flat(3) : [value];
    const shown = flat.slice(0, 10).map((v) => (Math.abs(v) < 1e-4 && v !== 0
      ? v.toExponential(1) : Number(v).toFixed(4)));
    return `[${shown.join(", ")}${flat.length > 10 ? ", …" : ""}]`;
  }

  function verdict(error, tolerance) {
    if (error === undefined) return element("span", {}, "");
    const ok = error <= tolerance;
    return element("span", { class: ok ? "ok" : "fail" },
      `${ok ? "✓" : "✗"} ${error.toExponential(1)}`);
  }

  // One row per gradient: the blame each module receives and passes back, each
  // parameter's gradient, each beside its finite-difference check.
  function inside(record) {
    const head = document.getElementById("inside-head");
    const holder = document.getElementById("inside-table");
    holder.textContent = "";
    if (record.error) {
      head.textContent = record.error;
      return;
    }
    head.textContent = `Training point ${record.index} at (${record.x.map((v) => v.toFixed(2))
      .join(", ")}), class ${record.label}: loss ${record.loss.toFixed(4)}. `
      + (record.passed
        ? `Every gradient matches finite differences (worst relative error ${record.worst_error
          .toExponential(1)}).`
        : `Some gradients do NOT match finite differences (${record.note}).`);
    const table = element("table", { class: "inside" });
    const header = element("tr");
    for (const title of ["step", "module", "forward value", "gradient", "value",
      "finite-difference check"]) header.appendChild(element("th", {}, title));
    table.appendChild(header);
    const input = element("tr");
    for (const text of ["x", "features", numbers(record.inputs), "", "", ""]) {
      input.appendChild(element("td", text.startsWith("[") ? { class: "values" } : {}, text));
    }
    table.appendChild(input);
    for (const step of record.steps) {
      const rows = [[step.is_loss ? "d(loss)/d(output)" : "d(loss)/d(input) (passed back)",
        step.grad_input, step.check.input]];
      if (!step.is_loss) {
        rows.unshift(["d(loss)/d(output) (blame received)", step.grad_output, undefined]);
      }
      for (const [name, grad] of Object.entries(step.param_grads)) {
        rows.push([`d(loss)/d(${name})`, grad, step.check[name]]);
      }
      rows.forEach(([what, value, error], r) => {
        const tr = element("tr", { "data-step": step.name });
        tr.appendChild(element("td", {}, r ? "" : (step.is_loss ? "loss" : step.name)));
        tr.appendChild(element("td", {}, r ? "" : step.module));
        tr.appendChild(element("td", { class: "values" }, r ? "" : numbers(step.output)));
        tr.appendChild(element("td", {}, what));
        tr.appendChild(element("td", { class: "values" }, numbers(value)));
        const check = element("td", { class: "check" });
        check.appendChild(verdict(error, record.tolerance));
        tr.appendChild(check);
        table.appendChild(tr);
      });
    }
    holder.appendChild(table);
  }

  function diagnostics(advice, table) {
    const list = document.getElementById("advice");
    list.textContent = "";
    const lines = advice && advice.length ? advice
      : ["(advice appears after the first epoch)"];
    for (const line of lines) {
      list.appendChild(element("li", { class: line.startsWith("no warning") ? "" : "warn" },
        line));
    }
    document.getElementById("diagnostics-table").textContent = table || "";
  }

  function share(message) {
    document.getElementById("command").textContent = message.command;
    const link = document.getElementById("export-model");
    link.href = message.download;
  }

  return { inside, diagnostics, share };
})();
