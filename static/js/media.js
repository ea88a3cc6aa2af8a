/* Assets → Media (spec P§11.1): the "+ Add Media" dialog (drag and drop or "Select a file",
   several files, sizes checked before sending; the server checks the content), copy a file's
   public link, the larger view of an image, and the confirm before a delete.
   Plain JavaScript, loaded at the end of the page. */
(function () {
  "use strict";

  // --- copy link ------------------------------------------------------------------------------
  const toast = document.querySelector(".media-toast");
  let toastTimer = null;

  function say(text) {
    if (!toast) return;
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toast.hidden = true; }, 4000);
  }

  function copyFallback(text) {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    area.remove();
    return ok;
  }

  async function copy(text) {
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        return true;
      }
    } catch (e) { /* fall back below */ }
    return copyFallback(text);
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-copy-url]");
    if (!button) return;
    event.preventDefault();
    const url = button.dataset.copyUrl;
    if (await copy(url)) say(toast.dataset.copied);
    else say(toast.dataset.copyFailed + " " + url);
  });

  // --- confirm before a delete ----------------------------------------------------------------
  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });

  // --- larger view ----------------------------------------------------------------------------
  const lightbox = document.querySelector("[data-lightbox-panel]");
  let lastFocus = null;

  function closeLightbox() {
    if (!lightbox || lightbox.hidden) return;
    lightbox.hidden = true;
    lightbox.querySelector("[data-lightbox-image]").src = "";
    if (lastFocus) lastFocus.focus();
  }

  if (lightbox) {
    document.addEventListener("click", (event) => {
      const opener = event.target.closest("[data-lightbox]");
      if (!opener) return;
      lastFocus = opener;
      const image = lightbox.querySelector("[data-lightbox-image]");
      image.src = opener.dataset.lightbox;
      image.alt = opener.dataset.lightboxName || "";
      lightbox.querySelector("[data-lightbox-caption]").textContent = opener.dataset.lightboxName || "";
      lightbox.hidden = false;
      lightbox.querySelector("[data-action=close-lightbox]").focus();
    });
    lightbox.addEventListener("click", (event) => {
      if (event.target === lightbox || event.target.closest("[data-action=close-lightbox]")) closeLightbox();
    });
  }

  // --- + Add Media ----------------------------------------------------------------------------
  const panel = document.querySelector("[data-panel=add-media]");
  if (panel) {
    const form = panel.querySelector("[data-upload-form]");
    const input = form.querySelector("[data-file-input]");
    const list = form.querySelector("[data-picked]");
    const save = form.querySelector("[data-action=save-upload]");
    const zone = form.querySelector("[data-dropzone]");
    const texts = document.querySelector("[data-texts]").dataset;
    const maxBytes = parseInt(form.dataset.maxBytes, 10);
    let picked = [];

    const weight = (size) => {
      if (size < 1024) return size + " B";
      const units = ["KB", "MB", "GB", "TB"];
      let value = size;
      for (let i = 0; i < units.length; i++) {
        value /= 1024;
        if (value < 1024 || i === units.length - 1) return value.toFixed(2) + " " + units[i];
      }
      return "";
    };

    // The form sends what the input holds: keep it in step with the list.
    function sync() {
      const transfer = new DataTransfer();
      picked.forEach((file) => transfer.items.add(file));
      input.files = transfer.files;
      list.replaceChildren(...picked.map((file, index) => {
        const item = document.createElement("li");
        item.dataset.file = file.name;
        const name = document.createElement("span");
        name.className = "media-picked-name";
        name.textContent = file.name;
        const size = document.createElement("span");
        size.className = "muted";
        size.textContent = weight(file.size);
        item.append(name, size);
        if (maxBytes && file.size > maxBytes) {
          const warn = document.createElement("span");
          warn.className = "errors";
          warn.textContent = texts.tooLarge;
          item.append(warn);
        }
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "btn-icon";
        remove.textContent = "×";
        remove.setAttribute("aria-label", texts.remove + " " + file.name);
        remove.addEventListener("click", () => { picked.splice(index, 1); sync(); });
        item.append(remove);
        return item;
      }));
      save.disabled = picked.length === 0;
    }

    function add(files) {
      Array.from(files || []).forEach((file) => {
        if (!picked.some((f) => f.name === file.name && f.size === file.size && f.lastModified === file.lastModified)) {
          picked.push(file);
        }
      });
      sync();
    }

    function open() {
      panel.hidden = false;
      form.querySelector("[data-action=select-files]").focus();
    }

    function close() {
      panel.hidden = true;
      picked = [];
      sync();
    }

    document.querySelectorAll("[data-action=add-media]").forEach((b) => b.addEventListener("click", open));
    form.querySelector("[data-action=cancel-upload]").addEventListener("click", close);
    form.querySelector("[data-action=select-files]").addEventListener("click", () => input.click());
    input.addEventListener("change", () => add(Array.from(input.files)));
    panel.addEventListener("click", (event) => { if (event.target === panel) close(); });
    ["dragenter", "dragover"].forEach((type) => zone.addEventListener(type, (event) => {
      event.preventDefault();
      zone.classList.add("is-over");
    }));
    ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, () => zone.classList.remove("is-over")));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      add(event.dataTransfer.files);
    });
    form.addEventListener("submit", () => {
      save.disabled = true;
      save.setAttribute("aria-busy", "true");
    });
  }

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (lightbox && !lightbox.hidden) closeLightbox();
    else if (panel && !panel.hidden) panel.querySelector("[data-action=cancel-upload]").click();
  });
})();
