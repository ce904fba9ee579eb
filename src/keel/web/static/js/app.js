// Keel's page behaviour: a progressive enhancement. Every flow works without it (forms post,
// links navigate); with it, confirmations and prompts open as modal dialogs, dropdowns close
// on Escape, htmx sends the CSRF token, and failures become toasts with a Retry action.
(function () {
  "use strict";

  var TOAST_MS = 8000;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // --- dialogs -----------------------------------------------------------------------
  var openers = new WeakMap();

  function openDialog(dialog, opener) {
    if (!dialog || dialog.open) { return; }
    openers.set(dialog, opener || document.activeElement);
    dialog.showModal();
  }

  function onDialogClose(event) {
    var dialog = event.target;
    var opener = openers.get(dialog);
    if (opener && typeof opener.focus === "function" && document.contains(opener)) {
      opener.focus();
    }
    if (dialog.hasAttribute("data-discard")) { dialog.remove(); }
  }

  function wireDialogs(root) {
    root.querySelectorAll("dialog").forEach(function (dialog) {
      if (dialog.dataset.wired) { return; }
      dialog.dataset.wired = "1";
      dialog.addEventListener("close", onDialogClose);
      if (dialog.hasAttribute("data-auto-open")) { openDialog(dialog, null); }
    });
  }

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-open-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
      if (dialog) {
        event.preventDefault();
        openDialog(dialog, opener);
      }
      return;
    }
    var closer = event.target.closest("[data-close-dialog]");
    if (closer && closer.closest("dialog")) {
      event.preventDefault();
      closer.closest("dialog").close();
      return;
    }
    var dismiss = event.target.closest("[data-dismiss-toast]");
    if (dismiss) { dismiss.closest(".toast").remove(); return; }
    document.querySelectorAll("details.dropdown[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) { menu.open = false; }
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var menu = event.target.closest && event.target.closest("details.dropdown[open]");
    if (menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });

  // --- toasts ------------------------------------------------------------------------
  function toast(message, options) {
    options = options || {};
    var region = document.getElementById("toasts");
    if (!region) { return; }
    var item = document.createElement("div");
    item.className = "toast toast-" + (options.tone || "info");
    item.setAttribute("data-testid", "toast");
    var text = document.createElement("p");
    text.textContent = message;
    item.appendChild(text);
    if (options.retry) {
      var retry = document.createElement("button");
      retry.type = "button";
      retry.className = "button button-secondary";
      retry.textContent = "Retry";
      retry.setAttribute("data-testid", "toast-retry");
      retry.addEventListener("click", function () { item.remove(); options.retry(); });
      item.appendChild(retry);
    }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "button button-ghost";
    close.setAttribute("data-dismiss-toast", "");
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    item.appendChild(close);
    region.appendChild(item);
    if (!options.retry) {
      setTimeout(function () { item.remove(); }, TOAST_MS);
    }
  }
  window.keelToast = toast;

  // --- htmx --------------------------------------------------------------------------
  function retryOf(element) {
    return function () {
      if (element.tagName === "FORM") { element.requestSubmit(); } else { element.click(); }
    };
  }

  function problemTitle(xhr) {
    var parsed = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var heading = parsed.querySelector("[data-testid=problem] h1");
    return heading ? heading.textContent.trim() : "";
  }

  function showUpgrade(xhr) {
    var parsed = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var dialog = parsed.querySelector("dialog[data-testid=upgrade-modal]");
    if (!dialog) { return false; }
    var old = document.getElementById(dialog.id);
    if (old) { old.remove(); }
    dialog.removeAttribute("data-auto-open");
    dialog.setAttribute("data-discard", "");
    document.getElementById("modal-root").appendChild(dialog);
    wireDialogs(document);
    openDialog(dialog, document.activeElement);
    return true;
  }

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status === 402 && showUpgrade(xhr)) { return; }
    var title = problemTitle(xhr) || "Something went wrong";
    var retry = xhr.status === 429 || xhr.status >= 500 ? retryOf(event.detail.elt) : null;
    toast(title + (retry ? ". Try again." : "."), { tone: "error", retry: retry });
  });

  document.addEventListener("htmx:sendError", function (event) {
    toast("Could not reach Keel. Check your connection.", {
      tone: "error", retry: retryOf(event.detail.elt),
    });
  });

  document.addEventListener("htmx:afterSwap", function (event) { wireDialogs(event.target); });

  document.addEventListener("DOMContentLoaded", function () {
    if (window.htmx) {
      // 422 carries the form again with its inline errors: swap it like a success.
      window.htmx.config.responseHandling = [
        { code: "204", swap: false },
        { code: "[23]..", swap: true },
        { code: "422", swap: true },
        { code: "[45]..", swap: false, error: true },
      ];
    }
    wireDialogs(document);
  });
})();
