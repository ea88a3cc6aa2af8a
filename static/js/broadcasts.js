/* The Broadcasts pages (spec P§4; docs/broadcasts.md § Broadcast pages).

   Loaded without `defer` (templates/broadcasts/_assets.html) so that the Alpine component
   is registered before Alpine starts.

   * broadcastForm: the New / Edit broadcast form — the *Instantly* switch, the fallback
     chain builder (add a step of a channel: the server renders it with its sender IDs and
     its content editor; move it up or down; delete it; steps are renumbered), the RCS
     capability check toggle shown only when the chain has an RCS step;
   * the plain step editor (until the message constructor is installed) keeps its hidden
     content JSON in step with the visible fields;
   * a click on a row of the broadcasts table opens its statistics page. */
(function () {
  "use strict";

  function renumber(chain) {
    const steps = Array.from(chain.querySelectorAll(":scope > [data-step]"));
    steps.forEach((step, i) => {
      const number = step.querySelector("[data-step-number]");
      if (number) number.textContent = String(i + 1);
      const up = step.querySelector('[data-step-action="up"]');
      const down = step.querySelector('[data-step-action="down"]');
      if (up) up.disabled = i === 0;
      if (down) down.disabled = i === steps.length - 1;
    });
    const empty = chain.parentElement.querySelector("[data-chain-empty]");
    if (empty) empty.hidden = steps.length > 0;
    return steps;
  }

  document.addEventListener("alpine:init", () => {
    // `this.$root` / `this.$el` in a method called from a nested x-data (the add-step
    // popover) is that nested element: the form is kept from init() in a closure.
    window.Alpine.data("broadcastForm", (instantly) => {
      let form = null;
      return {
      instantly: instantly,
      hasRcs: false,
      adding: false,
      init() {
        form = this.$el;
        this.$nextTick(() => this.refresh());
      },
      chain() {
        return form ? form.querySelector("[data-chain]") : null;
      },
      refresh() {
        const chain = this.chain();
        if (!chain) return;
        const steps = renumber(chain);
        const rcs = form.dataset.rcsChannel;
        this.hasRcs = steps.some((s) => s.dataset.channel === rcs);
      },
      async addStep(channel) {
        if (this.adding) return;
        this.adding = true;
        try {
          const chain = this.chain();
          const url = form.dataset.stepUrl + "?channel=" + encodeURIComponent(channel) +
            "&n=" + (chain.querySelectorAll(":scope > [data-step]").length + 1);
          const resp = await fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" });
          if (!resp.ok) return;
          const holder = document.createElement("div");
          holder.innerHTML = (await resp.text()).trim();
          const step = holder.firstElementChild;
          if (!step) return;
          chain.appendChild(step);
          if (window.htmx) window.htmx.process(step);
          this.refresh();
          const first = step.querySelector("select, input:not([type=hidden]), textarea");
          if (first) first.focus();
        } finally {
          this.adding = false;
        }
      },
      stepAction(event) {
        const button = event.target.closest("[data-step-action]");
        if (!button) return;
        const step = button.closest("[data-step]");
        const chain = this.chain();
        if (!step || !chain) return;
        const action = button.dataset.stepAction;
        if (action === "up" && step.previousElementSibling) {
          chain.insertBefore(step, step.previousElementSibling);
        } else if (action === "down" && step.nextElementSibling) {
          chain.insertBefore(step.nextElementSibling, step);
        } else if (action === "delete") {
          step.remove();
        }
        this.refresh();
        if (action !== "delete") button.focus();
      },
      };
    });
  });

  // The plain step editor: visible fields → the hidden content JSON (other keys are kept).
  document.addEventListener("input", (event) => {
    const field = event.target.closest("[data-plain-content] [data-key]");
    if (!field) return;
    const box = field.closest("[data-plain-content]");
    const hidden = box.querySelector("[data-content-json]");
    let content = {};
    try {
      content = JSON.parse(hidden.value || "{}") || {};
    } catch (e) {
      content = {};
    }
    if (typeof content !== "object" || Array.isArray(content)) content = {};
    box.querySelectorAll("[data-key]").forEach((input) => {
      content[input.dataset.key] = input.value;
    });
    hidden.value = JSON.stringify(content);
  });

  // The broadcasts table: a click on a row (not on a link, a button or a form) opens it.
  document.addEventListener("click", (event) => {
    const row = event.target.closest("[data-row-link] table.dt tbody tr[data-id]");
    if (!row || event.target.closest("a, button, form, input, select, label")) return;
    const base = row.closest("[data-row-link]").dataset.rowLink;
    window.location.href = base + row.dataset.id + "/";
  });
})();
