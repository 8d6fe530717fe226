// "PPMS et plans" with JavaScript: files chosen or dropped are listed with a document type
// each; "Déposer" sends each file by itself to PUT /api/v1/deposits/{name}?kind=<id> (the
// CSRF token from the form's data-csrf attribute), with a progress bar and the server's
// answer next to the file, then refreshes the table of deposits. Without this script the
// form posts everything to /depot and the server answers a page of results.
(function () {
  "use strict";
  var form = document.getElementById("form-depot");
  if (!form || !window.XMLHttpRequest || !window.DOMParser) {
    return;
  }
  var input = document.getElementById("fichiers");
  var zone = document.getElementById("zone-depot");
  var list = document.getElementById("liste-fichiers");
  var defaultKind = document.getElementById("kind");
  var state = document.getElementById("etat-depot");
  var button = document.getElementById("deposer");
  var csrf = form.getAttribute("data-csrf");
  var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10) || 0;
  var items = [];
  var busy = false;

  form.classList.add("js");
  // Files may come from the drop zone only: the input is no longer the sole source.
  input.removeAttribute("required");

  function size(bytes) {
    if (bytes < 1024) {
      return bytes + (bytes > 1 ? " octets" : " octet");
    }
    var units = ["Ko", "Mo", "Go", "To"];
    var value = bytes / 1024;
    var unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    var text = value < 10 ? value.toFixed(1) : value.toFixed(0);
    return text.replace(".", ",") + " " + units[unit];
  }

  function say(item, text, kind) {
    item.status.textContent = text;
    item.status.className = "status" + (kind ? " " + kind : "");
  }

  function add(file) {
    for (var i = 0; i < items.length; i += 1) {
      var other = items[i].file;
      if (!items[i].done && other.name === file.name && other.size === file.size) {
        return;
      }
    }
    var row = document.createElement("div");
    row.className = "file-row";
    var name = document.createElement("span");
    name.className = "name";
    name.textContent = file.name + " (" + size(file.size) + ")";
    var select = defaultKind.cloneNode(true);
    select.removeAttribute("id");
    select.value = defaultKind.value;
    select.setAttribute("aria-label", "Type de document pour " + file.name);
    var cell = document.createElement("span");
    var progress = document.createElement("progress");
    progress.max = 100;
    progress.value = 0;
    progress.hidden = true;
    progress.setAttribute("aria-label", "Envoi de " + file.name);
    var status = document.createElement("span");
    status.className = "status";
    status.setAttribute("aria-live", "polite");
    cell.appendChild(progress);
    cell.appendChild(status);
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "secondary";
    remove.textContent = "Retirer";
    var item = {
      file: file, row: row, select: select, progress: progress, status: status,
      done: false, blocked: false
    };
    remove.addEventListener("click", function () {
      if (busy) {
        return;
      }
      items.splice(items.indexOf(item), 1);
      list.removeChild(row);
    });
    row.appendChild(name);
    row.appendChild(select);
    row.appendChild(cell);
    row.appendChild(remove);
    list.appendChild(row);
    items.push(item);
    if (maxBytes && file.size > maxBytes) {
      item.blocked = true;
      say(item, "Fichier trop volumineux (" + size(maxBytes) + " au plus) : il ne sera pas " +
        "envoyé.", "error");
    } else {
      say(item, "Prêt à déposer.", "");
    }
  }

  function addAll(files) {
    for (var i = 0; i < files.length; i += 1) {
      add(files[i]);
    }
  }

  input.addEventListener("change", function () {
    addAll(input.files);
    input.value = "";
  });
  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (event) {
      event.preventDefault();
      zone.classList.add("over");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function (event) {
      event.preventDefault();
      zone.classList.remove("over");
    });
  });
  zone.addEventListener("drop", function (event) {
    if (event.dataTransfer && event.dataTransfer.files) {
      addAll(event.dataTransfer.files);
    }
  });

  function answer(xhr) {
    try {
      return JSON.parse(xhr.responseText);
    } catch (e) {
      return {};
    }
  }

  function send(item, next) {
    var xhr = new XMLHttpRequest();
    var url = "/api/v1/deposits/" + encodeURIComponent(item.file.name) + "?kind=" +
      encodeURIComponent(item.select.value);
    xhr.open("PUT", url);
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    item.progress.hidden = false;
    item.progress.value = 0;
    item.select.disabled = true;
    say(item, "Envoi…", "");
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable && event.total > 0) {
        item.progress.value = Math.round(100 * event.loaded / event.total);
      }
    });
    xhr.addEventListener("load", function () {
      var body = answer(xhr);
      if (xhr.status === 200 || xhr.status === 201) {
        item.done = true;
        item.progress.value = 100;
        var what = body.new_version ? "Déposé" : "Identique au dépôt précédent, rien de nouveau";
        say(item, what + " : " + body.stored_name + " (version " + body.version + ").", "ok");
      } else if (xhr.status === 401) {
        item.select.disabled = false;
        say(item, "Session expirée : reconnectez-vous (Connexion), puis recommencez.",
          "error");
      } else {
        item.select.disabled = false;
        item.progress.hidden = true;
        say(item, (body.error || ("erreur " + xhr.status)) + " (erreur " + xhr.status + ")",
          "error");
      }
      next();
    });
    xhr.addEventListener("error", function () {
      item.select.disabled = false;
      item.progress.hidden = true;
      say(item, "Envoi interrompu : rien n'a été déposé. Vérifiez la connexion et " +
        "recommencez.", "error");
      next();
    });
    xhr.send(item.file);
  }

  function refreshTable() {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", "/depot");
    xhr.addEventListener("load", function () {
      if (xhr.status !== 200) {
        return;
      }
      var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var fresh = page.getElementById("depots");
      var table = document.getElementById("depots");
      if (fresh && table) {
        table.parentNode.replaceChild(document.importNode(fresh, true), table);
      }
    });
    xhr.send();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (busy) {
      return;
    }
    var queue = items.filter(function (item) {
      return !item.done && !item.blocked;
    });
    if (queue.length === 0) {
      state.textContent = "Sélectionnez au moins un fichier à déposer.";
      return;
    }
    busy = true;
    button.disabled = true;
    state.textContent = "Envoi de " + queue.length + " fichier(s)…";
    var index = 0;
    var step = function () {
      if (index < queue.length) {
        var item = queue[index];
        index += 1;
        send(item, step);
        return;
      }
      busy = false;
      button.disabled = false;
      var failed = queue.filter(function (item) {
        return !item.done;
      }).length;
      state.textContent = failed === 0
        ? "Envoi terminé : tous les fichiers sont déposés."
        : "Envoi terminé : " + failed + " fichier(s) non déposé(s), voir ci-dessus.";
      refreshTable();
    };
    step();
  });
})();
