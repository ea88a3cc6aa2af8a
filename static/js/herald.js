// Herald portal behaviour shared by every page (loaded before Alpine starts).
document.addEventListener("alpine:init", () => {
  // Copy a value to the clipboard and show a short confirmation.
  window.Alpine.data("copyable", (value) => ({
    copied: false,
    copy() {
      navigator.clipboard?.writeText(value);
      this.copied = true;
      setTimeout(() => (this.copied = false), 1500);
    },
  }));
});

// Data table: the "Add filter" panel builds django-filter query parameters.
document.addEventListener("alpine:init", () => {
  window.Alpine.data("dtFilter", (columns) => ({
    open: false, search: "", col: null, mode: "value", value: "", from: "", to: "",
    shown() {
      const q = this.search.toLowerCase();
      return columns.filter((c) => c.label.toLowerCase().includes(q));
    },
    pick(c) { this.col = c; this.mode = "value"; this.value = c.kind === "bool" ? "true" : ""; this.from = ""; this.to = ""; },
    inputType() { return this.col && this.col.kind === "date" ? "date" : (this.col && this.col.kind === "number" ? "number" : "text"); },
    apply() {
      if (!this.col) return;
      const params = new URLSearchParams(window.location.search);
      const k = this.col.key;
      [k, k + "__empty", k + "__min", k + "__max", "page", "export"].forEach((p) => params.delete(p));
      if (this.mode === "value") { if (this.value === "") return; params.set(k, this.value); }
      else if (this.mode === "empty") params.set(k + "__empty", "true");
      else if (this.mode === "nonempty") params.set(k + "__empty", "false");
      else if (this.mode === "range") {
        if (this.from === "" && this.to === "") return;
        if (this.from !== "") params.set(k + "__min", this.from);
        if (this.to !== "") params.set(k + "__max", this.to);
      }
      window.location.search = params.toString();
    },
  }));
  // "Columns to show": saved per user on the server.
  window.Alpine.data("dtColumns", (url, visible) => ({
    open: false, search: "", chosen: visible.slice(), error: "",
    async save() {
      const token = document.querySelector("[name=csrfmiddlewaretoken]")?.value ||
        JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
      const resp = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json", "X-CSRFToken": token },
        body: JSON.stringify({ columns: this.chosen }) });
      if (resp.ok) { window.location.reload(); } else { this.error = (await resp.json()).message; }
    },
  }));
});

// Users form: General / Role tabs and the live read-only permission list of the chosen roles.
document.addEventListener("alpine:init", () => {
  window.Alpine.data("userForm", (rolePerms, unrestricted, roleErrors) => ({
    tab: roleErrors ? "role" : "general", unrestricted, chosen: [],
    init() {
      const boxes = () => Array.from(this.$el.querySelectorAll("input[name=roles]"));
      const read = () => { this.chosen = boxes().filter((b) => b.checked).map((b) => b.value); };
      boxes().forEach((b) => b.addEventListener("change", read));
      read();
    },
    has(code) { return this.unrestricted || this.chosen.some((id) => (rolePerms[id] || []).includes(code)); },
    countIn(total, codes) { return "(" + codes.filter((c) => this.has(c)).length + " of " + total + ")"; },
  }));
  // Role form: pick a template to pre-fill the permissions; live "x of n" counters.
  // `this.$el` in a method is the element whose expression called it (the <select>, a
  // badge), not the form, so the form is kept from init() in a closure.
  window.Alpine.data("roleForm", (rolePerms) => {
    let form = null;
    return {
      tick: 0,
      init() { form = this.$el; this.sync(); },
      boxes() { return form ? Array.from(form.querySelectorAll("input[name=permissions]")) : []; },
      applyTemplate(id) {
        const perms = rolePerms[id] || [];
        if (!id) return;
        this.boxes().forEach((b) => { b.checked = perms.includes(b.value); });
        this.sync();
      },
      sync() { this.tick++; },
      countOf(codes) { this.tick; return this.boxes().filter((b) => b.checked && codes.includes(b.value)).length; },
    };
  });
});
