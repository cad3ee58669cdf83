// Copy buttons: <button data-copy="#id"> copies the text of that element (a new API key,
// an invitation link) and says so. The clipboard API needs a secure context (HTTPS or
// localhost); elsewhere the text is selected and copied the old way.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const text = source.textContent.trim();
  let copied = false;
  try {
    await navigator.clipboard.writeText(text);
    copied = true;
  } catch {
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    copied = document.execCommand("copy");
  }
  const label = button.dataset.label || button.textContent;
  button.dataset.label = label;
  button.textContent = copied ? "Copied" : "Select and copy it";
  setTimeout(() => { button.textContent = label; }, 2000);
});
