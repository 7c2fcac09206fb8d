// A secret shown once: a new API key, or the operation key when the user
// asked to see it. The element that shows it is the only place the page
// keeps it, and hide() empties it; nothing is written to any storage.

/**
 * shownOnce wires a panel that shows a secret: panel is shown and hidden,
 * value holds the text, copy is the Copy button, status says how copying
 * went. It returns show(text), which reveals the secret and focuses Copy,
 * and hide(), which forgets it.
 */
export function shownOnce({ panel, value, copy, status }) {
  function show(text) {
    value.textContent = text;
    status.textContent = "";
    panel.hidden = false;
    copy.focus();
  }

  function hide() {
    value.textContent = "";
    status.textContent = "";
    panel.hidden = true;
  }

  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(value.textContent);
      status.textContent = "Copied to the clipboard.";
    } catch {
      window.getSelection().selectAllChildren(value);
      status.textContent = "The browser did not let this page copy. The key is selected: press Ctrl+C (⌘C on a Mac).";
    }
  });
  return { show, hide };
}
