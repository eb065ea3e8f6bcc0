/* feedpub embed.js: <div data-feedpub="FEED.json"></div> lists the feed's
   latest items.  Feed text goes in as textContent only. */
(function () {
  "use strict";
  var d = document;
  // :where() has no specificity: any host rule wins.
  var CSS =
    ":where(.feedpub-list){list-style:none;margin:0;padding:0;display:grid;gap:var(--feedpub-gap,.75em);" +
    "animation:feedpub-in .2s}" +
    ":where(.feedpub-item){display:flex;gap:var(--feedpub-gap,.75em);align-items:start}" +
    ":where(.feedpub-image){flex:none;width:var(--feedpub-image-size,4em);height:var(--feedpub-image-size,4em);" +
    "object-fit:cover;border-radius:var(--feedpub-radius,.25em)}" +
    ":where(.feedpub-title){color:var(--feedpub-link,inherit);font-weight:600}" +
    ":where(.feedpub-meta,.feedpub-summary){display:block;margin:0;font-size:.85em;color:var(--feedpub-muted,inherit)}" +
    ":where(.feedpub[aria-busy=true]){opacity:.6}@keyframes feedpub-in{from{opacity:0}}" +
    "@media (prefers-reduced-motion:reduce){:where(.feedpub-list){animation:none}}";
  var RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

  function el(name, cls, text) {
    var e = d.createElement(name);
    e.className = "feedpub-" + cls;
    if (text) e.textContent = text;
    return e;
  }

  // An absolute http(s) URL or null (no javascript:, data:).
  function safe(url, base) {
    try {
      var u = new URL(url, base);
      if (typeof url == "string" && /^https?:$/.test(u.protocol)) return u.href;
    } catch (e) {}
    return null;
  }

  function str(v) {
    return typeof v == "string" ? v.trim() : "";
  }

  function item(it, base) {
    var title = str(it.title) || str(it.content_text);
    if (!title) return null;
    var li = el("li", "item"),
      body = li.appendChild(el("div", "body")),
      meta = el("span", "meta"),
      src = safe(it.image, base),
      href = safe(it.url, base),
      when = str(it.date_published),
      who = str(it.authors?.[0]?.name);
    if (src) {
      var img = li.insertBefore(el("img", "image"), body);
      img.src = src;
      img.alt = "";
      img.loading = "lazy";
    }
    var a = body.appendChild(el(href ? "a" : "span", "title", title));
    if (href) {
      a.href = href;
      a.rel = "noopener";
    }
    if (RFC3339.test(when) && !isNaN(new Date(when))) {
      var t = meta.appendChild(el("time", "date", when.slice(0, 10)));
      t.dateTime = when;
      try {
        t.textContent = new Date(when).toLocaleDateString(d.documentElement.lang || [], { dateStyle: "medium" });
      } catch (e) {}
    }
    if (who) {
      if (meta.firstChild) meta.appendChild(d.createTextNode(" \u00b7 "));
      meta.appendChild(el("span", "provider", who));
    }
    if (meta.firstChild) body.appendChild(meta);
    if (str(it.summary)) body.appendChild(el("p", "summary", str(it.summary)));
    return li;
  }

  function widget(box) {
    if (box.classList.contains("feedpub")) return;
    box.classList.add("feedpub");
    var feed = safe(box.dataset.feedpub, d.baseURI),
      label = str(box.dataset.title),
      limit = Math.max(parseInt(box.dataset.limit), 0) || 10,
      wait = Math.max(parseFloat(box.dataset.timeout), 0) || 10;
    if (!box.hasAttribute("role")) box.setAttribute("role", "region");
    box.setAttribute("aria-busy", "true");

    function done(node, name, event) {
      if (!box.hasAttribute("aria-label") && !box.hasAttribute("aria-labelledby"))
        box.setAttribute("aria-label", label || name || "Feed");
      box.replaceChildren(node);
      box.setAttribute("aria-busy", "false");
      box.dispatchEvent(new CustomEvent("feedpub:" + event));
    }

    // No answer in time, an HTTP error, no JSON Feed: a plain link.
    function fallback() {
      var a = el(feed ? "a" : "span", "fallback", label || feed || "Feed");
      if (feed) a.href = feed;
      done(a, "", "error");
    }

    if (!feed) return fallback();
    fetch(feed, { credentials: "omit", signal: AbortSignal.timeout(wait * 1e3) })
      .then((r) => {
        if (!r.ok) throw Error(r.status);
        return r.json();
      })
      .then((j) => {
        if (!j || !Array.isArray(j.items)) throw Error("no items");
        var ul = el("ul", "list");
        ul.setAttribute("role", "list");
        for (var n = 0; n < j.items.length && ul.children.length < limit; n++) {
          var it = j.items[n],
            li = it && typeof it == "object" && item(it, feed);
          if (li) ul.appendChild(li);
        }
        done(ul, str(j.title), "load");
      })
      .catch(fallback);
  }

  function start() {
    if (!d.getElementById("feedpub-style")) {
      // First in <head>: host rules, even `*`, come later and win.
      var s = d.createElement("style");
      s.id = "feedpub-style";
      s.textContent = CSS;
      d.head.prepend(s);
    }
    d.querySelectorAll("[data-feedpub]").forEach(widget);
  }

  if (d.readyState == "loading") d.addEventListener("DOMContentLoaded", start);
  else start();
})();
