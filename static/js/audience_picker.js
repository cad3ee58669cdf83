// The Audience Sync editor's search: picking a result fills the hidden `audience` field.
// A new name turns the editor's save button into "Create Audience".
document.addEventListener("click", (event) => {
  const option = event.target.closest("[data-audience-choice]");
  if (!option) return;
  const picker = option.closest("[data-audience-picker]");
  picker.querySelector("input[name=audience]").value = option.dataset.audienceChoice;
  picker.querySelector("[data-audience-chosen]").textContent = option.dataset.audienceLabel;
  picker.querySelector("[data-audience-results]").replaceChildren();
  const save = option.closest("form").querySelector("[data-save-button]");
  if (save) {
    save.textContent = option.dataset.audienceChoice.startsWith("new:") ? "Create Audience" : "Save component";
  }
});
