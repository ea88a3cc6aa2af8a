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
