// The Audience Sync editor's search: picking a result fills the hidden `audience` field.
// A new name turns the editor's save button into "Create Audience".
document.addEventListener("click", (event) => {
  const option = event.target.closest("[data-audience-choice]");
  if (!option) return;
  const picker = option.closest("[data-audience-picker]");
  const save = option.closest("form").querySelector("[data-save-button]");
  const choice = option.dataset.audienceChoice;
  picker.querySelector("input[name=audience]").value = choice;
  picker.querySelector("[data-audience-chosen]").textContent = option.dataset.audienceLabel;
  if (save) save.textContent = choice.startsWith("new:") ? "Create Audience" : "Save component";
  // Last: this removes the option that was clicked.
  picker.querySelector("[data-audience-results]").replaceChildren();
});
