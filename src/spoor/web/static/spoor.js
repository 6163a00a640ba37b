/* Spoor tracker (docs/tracker.md). No cookies, no storage, no fingerprinting:
   each hit is one small text/plain POST to Spoor's /api/collect. */
(function (w, d) {
  "use strict";
  var old = w.spoor;
  if (old && old.v) return; // loaded twice
  var script = d.currentScript || d.querySelector("script[data-site]");
  var attr = function (name) { return script && script.getAttribute(name); };
  var site = attr("data-site");
  var loc = w.location;
  var noop = function () {};
  noop.v = 1;
  if (!site || loc.protocol == "file:") {
    if (!site) console.warn("Spoor: the script tag has no data-site; nothing is tracked");
    w.spoor = noop;
    return;
  }
  var api = attr("data-api") || new URL(script.src).origin + "/api/collect";
  var handraise = (attr("data-handraise") || "").split(",").map(function (p) { return p.trim(); })
    .filter(Boolean);
  var files = /\.(pdf|zip|rar|7z|docx?|xlsx?|pptx?|od[tsp]|rtf|csv|txt|dmg|pkg|exe|msi|deb|rpm|apk|iso|gz|tgz|bz2|xz|mp4|mov|mp3|wav|epub|mobi)$/i;
  var now = Date.now;
  var on = function (target, type, fn, capture) { target.addEventListener(type, fn, capture); };
  var url, path, ref = d.referrer;
  var engaged, since, scroll, sent;

  function send(e, p, u) {
    var body = JSON.stringify({ s: site, u: u || loc.href, r: ref || "", t: d.title, e: e, p: p || {} });
    // A string body is sent as text/plain;charset=UTF-8: a "simple" request, no preflight.
    try {
      if (navigator.sendBeacon(api, body)) return;
    } catch (x) {}
    if (w.fetch) fetch(api, { method: "POST", keepalive: true, body: body, headers: { "Content-Type": "text/plain" } }).catch(noop);
  }

  // --- engaged time and scroll depth ----------------------------------------------------
  function pause() {
    if (since) engaged += now() - since;
    since = 0;
  }
  function resume() {
    if (!d.hidden && !since) since = now();
  }
  function depth() {
    var h = d.documentElement, total = Math.max(h.scrollHeight, d.body ? d.body.scrollHeight : 0);
    var pct = total ? Math.min(100, Math.round((w.scrollY + w.innerHeight) * 100 / total)) : 0;
    if (pct > scroll) scroll = pct;
  }
  function engagement() {
    pause();
    depth();
    if (!sent && engaged > 0) {
      sent = 1;
      send("engagement", { engaged_ms: "" + engaged, scroll: "" + scroll }, url);
    }
    resume();
  }

  // --- page views: the first, then every path change of a single-page app ---------------
  function pageview(force) {
    if (!force && loc.pathname == path) return;
    if (url) {
      engagement(); // the previous page's
      ref = url;
    }
    url = loc.href;
    path = loc.pathname;
    engaged = since = scroll = sent = 0;
    resume();
    depth();
    send("pageview");
  }
  ["pushState", "replaceState"].forEach(function (name) {
    var original = history[name];
    history[name] = function () {
      var result = original.apply(this, arguments);
      pageview();
      return result;
    };
  });
  on(w, "popstate", function () { pageview(); });
  // Back to a page kept in the back/forward cache: its scripts do not run again.
  on(w, "pageshow", function (ev) { if (ev.persisted) pageview(1); });

  on(d, "visibilitychange", function () { d.hidden ? engagement() : resume(); });
  on(w, "pagehide", engagement);
  on(w, "blur", pause);
  on(w, "focus", resume);
  on(w, "scroll", depth, { passive: true });

  // --- outbound links and downloads (ordinary links: the beacon outlives the page) -------
  function click(ev) {
    if (ev.type == "auxclick" && ev.button != 1) return;
    var a = ev.target.closest && ev.target.closest("a[href]");
    if (!a) return;
    var u = new URL(a.href, loc.href);
    if (!/^https?:$/.test(u.protocol)) return;
    if (a.hasAttribute("download") || files.test(u.pathname)) {
      send("download", { url: u.origin + u.pathname }); // no query: it may hold a token
    } else if (u.hostname != loc.hostname) {
      send("outlink", { url: u.href });
    }
  }
  on(d, "click", click, true);
  on(d, "auxclick", click, true);

  // --- hand-raise forms: sent during the submit event, before the browser navigates -------
  on(d, "submit", function (ev) {
    var form = ev.target;
    var action = new URL(form.getAttribute("action") || "", loc.href).pathname;
    if (form.hasAttribute("data-spoor-handraise") || handraise.some(function (p) { return action.indexOf(p) == 0; })) {
      send("form", { form: form.getAttribute("id") || action });
    }
  }, true);

  // --- custom events: spoor(name, props), with calls queued before the script loaded -----
  function spoor(name, props) {
    var p = {};
    for (var k in props || {}) p[k] = "" + props[k];
    send("" + name, p);
  }
  spoor.v = 1;

  function start() {
    w.spoor = spoor;
    pageview();
    ((old && old.q) || []).forEach(function (args) { spoor.apply(null, args); });
  }
  // A prerendered page counts once it is shown.
  d.prerendering ? on(d, "prerenderingchange", start, { once: true }) : start();
})(window, document);
