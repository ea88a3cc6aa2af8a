/* The Sender IDs registration form (spec P§11.2): live "n / max" counters, the repeated
   phone / website / e-mail rows (at most data-max each), and the RCS profile preview
   ("Example") kept in step with the form. Plain JavaScript; no other dependency. */
(function () {
  "use strict";

  function counterOf(input) {
    if (input.id) {
      const byId = document.querySelector('[data-counter-for="' + input.id + '"]');
      if (byId) return byId;
    }
    const next = input.nextElementSibling;
    return next && next.classList.contains("counter") ? next : null;
  }

  function updateCounter(input) {
    const counter = counterOf(input);
    if (!counter) return;
    const max = parseInt(input.dataset.counter, 10);
    const n = Array.from(input.value).length;
    counter.textContent = n + " / " + max;
    counter.classList.toggle("is-over", n > max);
  }

  // --- repeated rows --------------------------------------------------------------------------
  function rowsOf(block) {
    return Array.from(block.querySelectorAll("[data-entry-rows] [data-entry]"));
  }

  function renumber(block) {
    const rows = rowsOf(block);
    rows.forEach(function (row, i) {
      row.querySelectorAll("[data-aria]").forEach(function (el) {
        el.setAttribute("aria-label", el.dataset.aria.split("{n}").join(String(i + 1)));
      });
    });
    const add = block.querySelector("[data-add-entry]");
    if (add) add.hidden = rows.length >= parseInt(block.dataset.max, 10);
  }

  function addRow(block) {
    const max = parseInt(block.dataset.max, 10);
    if (rowsOf(block).length >= max) return;
    const template = block.querySelector("template[data-entry-template]");
    const row = template.content.firstElementChild.cloneNode(true);
    block.querySelector("[data-entry-rows]").appendChild(row);
    renumber(block);
    const input = row.querySelector("[data-entry-value]");
    if (input) input.focus();
  }

  function removeRow(block, row) {
    if (rowsOf(block).length > 1) {
      row.remove();
    } else {
      row.querySelectorAll("input").forEach(function (input) { input.value = ""; updateCounter(input); });
    }
    renumber(block);
  }

  // --- the preview ------------------------------------------------------------------------------
  const KINDS = [["phones", "phone"], ["websites", "website"], ["emails", "email"]];

  function entries(form, name) {
    const block = form.querySelector('[data-entries="' + name + '"]');
    if (!block) return [];
    return rowsOf(block).map(function (row) {
      return {
        value: (row.querySelector("[data-entry-value]").value || "").trim(),
        label: (row.querySelector("[data-entry-label]").value || "").trim(),
      };
    }).filter(function (e) { return e.value; });
  }

  function field(form, name) {
    return form.querySelector('[name="' + name + '"]');
  }

  function setImage(preview, kind, url) {
    if (kind === "logo") {
      const box = preview.querySelector("[data-preview-logo]");
      box.textContent = "";
      if (url) {
        const img = document.createElement("img");
        img.src = url;
        img.alt = "";
        box.appendChild(img);
      } else {
        const initial = document.createElement("span");
        initial.setAttribute("data-preview-initial", "");
        box.appendChild(initial);
      }
    } else {
      preview.querySelector("[data-preview-background]").style.backgroundImage = url ? "url('" + url + "')" : "";
    }
  }

  function updatePreview(form) {
    const preview = document.querySelector("[data-preview]");
    if (!preview) return;
    const name = (field(form, "name") || {}).value || "";
    const nameBox = preview.querySelector("[data-preview-name]");
    nameBox.textContent = name.trim() || nameBox.dataset.placeholder || "";
    const initial = preview.querySelector("[data-preview-initial]");
    if (initial) initial.textContent = name.trim().slice(0, 1).toUpperCase();
    const description = field(form, "description");
    preview.querySelector("[data-preview-description]").textContent = description ? description.value : "";
    const color = field(form, "color");
    if (color && /^#[0-9a-fA-F]{6}$/.test(color.value)) preview.style.setProperty("--bot-color", color.value);

    const actions = preview.querySelector("[data-preview-actions]");
    const info = preview.querySelector("[data-preview-info]");
    actions.textContent = "";
    info.textContent = "";
    KINDS.forEach(function (pair) {
      const fallback = form.dataset["default" + pair[1].charAt(0).toUpperCase() + pair[1].slice(1)] || "";
      entries(form, pair[0]).forEach(function (e) {
        const button = document.createElement("span");
        button.dataset.kind = pair[1];
        button.textContent = e.label || fallback;
        actions.appendChild(button);
        const item = document.createElement("li");
        const value = document.createElement("span");
        value.textContent = e.value;
        const label = document.createElement("small");
        label.textContent = e.label || fallback;
        item.appendChild(value);
        item.appendChild(label);
        info.appendChild(item);
      });
    });
  }

  function init() {
    document.querySelectorAll("[data-counter]").forEach(updateCounter);
    document.querySelectorAll("[data-entries]").forEach(renumber);
    const form = document.querySelector("[data-sender-form]");
    if (!form) return;
    const preview = document.querySelector("[data-preview]");
    const originals = {};
    if (preview) {
      const img = preview.querySelector("[data-preview-logo] img");
      originals.logo = img ? img.getAttribute("src") : "";
      const bg = preview.querySelector("[data-preview-background]").style.backgroundImage || "";
      originals.background = bg.replace(/^url\(["']?/, "").replace(/["']?\)$/, "");
    }

    form.addEventListener("input", function (event) {
      if (event.target.matches("[data-counter]")) updateCounter(event.target);
      updatePreview(form);
    });
    form.addEventListener("change", function (event) {
      const target = event.target;
      if (!preview) return;
      if (target.type === "file" && (target.name === "logo" || target.name === "background")) {
        const file = target.files && target.files[0];
        setImage(preview, target.name, file ? URL.createObjectURL(file) : originals[target.name]);
        updatePreview(form);
      } else if (target.name === "remove_logo" || target.name === "remove_background") {
        const kind = target.name.replace("remove_", "");
        setImage(preview, kind, target.checked ? "" : originals[kind]);
        updatePreview(form);
      } else {
        updatePreview(form);
      }
    });
    form.addEventListener("click", function (event) {
      const add = event.target.closest("[data-add-entry]");
      const remove = event.target.closest("[data-remove-entry]");
      if (add) {
        addRow(add.closest("[data-entries]"));
      } else if (remove) {
        removeRow(remove.closest("[data-entries]"), remove.closest("[data-entry]"));
        updatePreview(form);
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
