/* Spoor tracker, see docs/tracker.md. No cookies, no storage: one text/plain POST a hit. */
(function (w, d, L, H) {
  var old = w.spoor, el = d.currentScript || d.querySelector("script[data-site]");
  if (old && old.v) return;
  var at = function (n) { return el && el.getAttribute(n); };
  var site = at("data-site"), nop = function () {};
  nop.v = 1;
  if (!site || L.protocol == "file:") {
    site || console.warn("Spoor: no data-site");
    return (w.spoor = nop);
  }
  var api = at("data-api") || new URL(el.src).origin + "/api/collect";
  var forms = (at("data-handraise") || "").split(",").map(function (p) { return p.trim(); }).filter(String);
  var files = /\.(pdf|zip|rar|7z|docx?|xlsx?|pptx?|csv|txt|rtf|dmg|pkg|exe|msi|iso|gz|tgz|mp4|mov|mp3|epub)$/i;
  var on = function (t, e, f, o) { t.addEventListener(e, f, o); };
  var now = Date.now, q = (old && old.q) || [], ref = d.referrer;
  var live, url, path, ms, since, scroll, sent;

  function send(e, p, u) {
    // A string is sent as text/plain: a "simple" request, without a CORS preflight.
    var b = JSON.stringify({ s: site, u: u || L.href, r: ref || "", t: d.title, e: e, p: p || {} });
    try {
      if (navigator.sendBeacon(api, b)) return;
    } catch (x) {}
    w.fetch && fetch(api, { method: "POST", keepalive: true, body: b, headers: { "Content-Type": "text/plain" } }).catch(nop);
  }

  // Engaged time counts while the page is visible and focused; scroll is the deepest seen (%).
  function pause() {
    since && (ms += now() - since);
    since = 0;
  }
  function resume() {
    d.hidden || since || (since = now());
  }
  function depth() {
    var h = Math.max(d.documentElement.scrollHeight, d.body ? d.body.scrollHeight : 0);
    scroll = Math.max(scroll, h && Math.min(100, Math.round((w.scrollY + w.innerHeight) * 100 / h)));
  }
  function leave(measure) {
    if (!url) return;
    pause();
    measure && depth();
    if (!sent && ms) send("engagement", { engaged_ms: "" + ms, scroll: "" + scroll }, url), (sent = 1);
    resume();
  }

  // A pageview on load and whenever a single-page app changes the path.
  function view(force) {
    if (!live || (!force && L.pathname == path)) return;
    if (url && !force) leave(), (ref = url); // the previous page's engagement first
    url = L.href;
    path = L.pathname;
    ms = since = scroll = sent = 0;
    resume();
    send("pageview");
  }
  ["pushState", "replaceState"].forEach(function (n) {
    var f = H[n];
    H[n] = function () {
      var r = f.apply(this, arguments);
      view();
      return r;
    };
  });
  on(w, "popstate", function () { view(); });
  on(w, "pageshow", function (e) { e.persisted && view(1); }); // back from the bfcache
  on(d, "visibilitychange", function () { d.hidden ? leave(1) : resume(); });
  on(w, "pagehide", function () { leave(1); });
  on(w, "blur", pause);
  on(w, "focus", resume);
  on(w, "scroll", depth, { passive: true });

  // Outbound links and downloads: ordinary links; the beacon outlives the page.
  function click(e) {
    var a = e.target.closest && e.target.closest("a[href]"), u;
    if (!a || (e.type == "auxclick" && e.button != 1)) return;
    try {
      u = new URL(a.href);
    } catch (x) {
      return;
    }
    if (!/^http/.test(u.protocol)) return;
    if (a.hasAttribute("download") || files.test(u.pathname)) send("download", { url: u.origin + u.pathname });
    else if (u.hostname != L.hostname) send("outlink", { url: u.href });
  }
  on(d, "click", click, true);
  on(d, "auxclick", click, true);

  // Hand-raise forms, sent in the submit event, before the browser navigates.
  on(d, "submit", function (e) {
    var f = e.target, b = e.submitter;
    var act = new URL((b && b.getAttribute("formaction")) || f.getAttribute("action") || "", L.href).pathname;
    if (f.hasAttribute("data-spoor-handraise") || forms.some(function (p) { return !act.indexOf(p); }))
      send("form", { form: f.getAttribute("id") || act });
  }, true);

  // Custom events: spoor(name, {props}); calls made before the script ran wait in spoor.q.
  function spoor(n, p) {
    if (!live) return q.push([n, p]);
    var s = {};
    for (var k in p) s[k] = "" + p[k];
    send("" + n, s);
  }
  spoor.v = 1;
  w.spoor = spoor;
  function start() {
    live = 1;
    view();
    q.forEach(function (a) { spoor(a[0], a[1]); });
  }
  d.prerendering ? on(d, "prerenderingchange", start, { once: true }) : start(); // counts when shown
})(window, document, location, history);
