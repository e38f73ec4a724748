// The web explorer's few behaviours. Every page is plain forms and links; this script
// sends a form when one of its selects changes, turns edited input values into
// set=NAME=VALUE parameters, and leaves empty fields out of the URL.
(function () {
  "use strict";

  function each(selector, root, fn) {
    Array.prototype.forEach.call((root || document).querySelectorAll(selector), fn);
  }

  each("select.autosubmit", null, function (select) {
    select.addEventListener("change", function () {
      if (select.form.requestSubmit) { select.form.requestSubmit(); } else { select.form.submit(); }
    });
  });

  function composeSets(form) {
    each("input.input-value", form, function (input) {
      var value = input.value.trim();
      if (value && (value !== input.dataset.original || input.dataset.given)) {
        var hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = "set";
        hidden.value = input.dataset.name + "=" + value;
        hidden.className = "composed";
        form.appendChild(hidden);
      }
    });
  }

  each("form[method=get]", null, function (form) {
    form.addEventListener("submit", function () {
      if (form.hasAttribute("data-compose-sets")) { composeSets(form); }
      each("input[name], select[name]", form, function (field) {
        if (field.value.trim() === "") { field.disabled = true; }
      });
    });
  });

  // coming back to a page from the history: the fields disabled on leaving it work again
  window.addEventListener("pageshow", function () {
    each("form [disabled]", null, function (field) { field.disabled = false; });
    each("input.composed", null, function (field) { field.remove(); });
  });

  // diagrams are drawn to the page's width; a button shows one at Graphviz's own size
  each("button[data-toggle-size]", null, function (button) {
    button.addEventListener("click", function () {
      var box = document.getElementById(button.dataset.toggleSize);
      var fit = box.classList.toggle("fit");
      button.textContent = fit ? "actual size" : "fit to the page";
    });
  });

  // a diagram that takes a while to lay out is fetched after the page: it replaces its link
  each("[data-src]", null, function (box) {
    fetch(box.dataset.src).then(function (response) {
      return response.text().then(function (text) {
        if (response.ok) { box.innerHTML = text; } else { box.textContent = text; }
      });
    }).catch(function () { /* the link to the diagram stays */ });
  });

  // seek: the objective is sent as maximize=NAME or minimize=NAME
  var sense = document.getElementById("sense");
  var objective = document.getElementById("objective");
  if (sense && objective) {
    sense.addEventListener("change", function () { objective.name = sense.value; });
  }
})();
