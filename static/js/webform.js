// "Abrir chamado": show the other person's fields only when the request is for them.
const form = document.getElementById("web-ticket-form");
if (form) {
  const other = form.querySelector("[data-other-fields]");
  const sync = () => {
    const chosen = form.querySelector('input[name="for_other"]:checked');
    other.hidden = !chosen || chosen.value !== "1";
  };
  form.addEventListener("change", sync);
  sync();
}
