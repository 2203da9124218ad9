/* decide.js: renders a decide decision into the page and reports its impression and click.
   No build step, no dependencies. On any failure the element keeps its fallback content. */
(function () {
  "use strict";
  var script = document.currentScript || {};
  var data = script.dataset || {};
  var base = data.endpoint || (script.src ? new URL(script.src).origin : location.origin);
  var DROP = { SCRIPT: 1, STYLE: 1, IFRAME: 1, OBJECT: 1, EMBED: 1, LINK: 1, META: 1, BASE: 1,
    FORM: 1, FRAME: 1, FRAMESET: 1, TEMPLATE: 1 };
  var URL_ATTRS = { href: 1, src: 1, action: 1, formaction: 1, "xlink:href": 1, poster: 1 };
  var SCHEMES = { "http:": 1, "https:": 1, "mailto:": 1, "tel:": 1 };

  function uid() {
    return crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  // Without a contact id the visitor keeps one anonymous id in this browser.
  function anonymousId() {
    try {
      var id = localStorage.getItem("decide_anon") || "anon-" + uid();
      localStorage.setItem("decide_anon", id);
      return id;
    } catch (e) {
      return "anon-" + uid();
    }
  }

  function safeUrl(value) {
    try { return SCHEMES[new URL(value, location.href).protocol] === 1; } catch (e) { return false; }
  }

  // The server escapes and sanitizes already; this is defence in depth against a bad template.
  function sanitize(markup) {
    var t = document.createElement("template");
    t.innerHTML = markup;  // template content is inert: nothing runs or loads while we clean it
    var all = t.content.querySelectorAll("*");
    for (var i = 0; i < all.length; i++) {
      var el = all[i];
      if (DROP[el.tagName.toUpperCase()]) { el.remove(); continue; }
      for (var a of Array.from(el.attributes)) {
        var name = a.name.toLowerCase();
        if (name.startsWith("on") || name === "style" || name === "srcset" ||
            (URL_ATTRS[name] && !safeUrl(a.value))) el.removeAttribute(a.name);
      }
    }
    return t.content;
  }

  function post(path, body, key, timeoutMs) {
    var ctl = new AbortController();
    var timer = setTimeout(function () { ctl.abort(); }, timeoutMs);
    var headers = { "Content-Type": "application/json" };
    if (key) headers.Authorization = "Bearer " + key;
    return fetch(base + path, {
      method: "POST", body: JSON.stringify(body), signal: ctl.signal, headers: headers,
      keepalive: path === "/v1/events",  // an impression still arrives if the visitor leaves
    }).then(function (r) {
      if (!r.ok) throw new Error("decide: " + path + " answered " + r.status);
      return r.json();
    }).finally(function () { clearTimeout(timer); });
  }

  // sendBeacon cannot set headers: the public key travels in the body, as text/plain.
  function beacon(key, event) {
    var body = JSON.stringify({ api_key: key, events: [event] });
    if (!(navigator.sendBeacon && navigator.sendBeacon(base + "/v1/events", body))) {
      fetch(base + "/v1/events", { method: "POST", body: body, keepalive: true }).catch(function () {});
    }
  }

  function fill(el, d, field) {
    var m = d.message;
    var content = m.content[(d.channel && d.channel.primary) || "web"] || m.content.web || {};
    field = field || ("html" in content ? "html" : Object.keys(content)[0]);
    var value = content[field];
    if (typeof value !== "string") return false;
    if (field === "html" || field.endsWith("_html")) el.replaceChildren(sanitize(value));
    else el.textContent = value;
    el.dir = m.direction || "auto";
    if (m.locale) el.lang = m.locale;
    return true;
  }

  /* render({placement, contactId, element(s), field, attributes, context, contactToken, key})
     resolves with the decision, or with null when the fallback content stays. Never rejects. */
  function render(o) {
    var key = o.key || data.key;
    var els = o.elements || [o.element];
    var contact = o.contactId || data.contact || anonymousId();
    var attributes = Object.assign({}, o.attributes);
    var lang = data.locale || document.documentElement.lang;
    if (lang && !attributes.locale) attributes.locale = lang;
    var body = { placement: o.placement, contact_id: contact, attributes: attributes };
    if (o.context) body.context = o.context;
    var token = o.contactToken || data.contactToken;
    if (token) body.contact_token = token;
    return post("/v1/decide", body, key, o.timeout || Number(data.timeout) || 3000).then(function (d) {
      if (!d.message || !d.decision_id) return null;
      var shown = els.filter(function (el) {
        return fill(el, d, o.field || el.getAttribute("data-decide-field"));
      });
      if (!shown.length) return null;
      var event = { type: "impression", contact_id: contact, decision_id: d.decision_id };
      post("/v1/events", { events: [Object.assign({ event_id: uid() }, event)] }, key, 10000)
        .catch(function () {});
      var clicked = false;
      shown.forEach(function (el) {
        el.addEventListener("click", function () {
          if (clicked) return;  // one click per decision: the reward is a yes/no
          clicked = true;
          beacon(key, Object.assign({}, event, { type: "click", event_id: uid() }));
        });
      });
      return d;
    }).catch(function () { return null; });
  }

  function renderAll() {
    var groups = {};
    document.querySelectorAll("[data-decide-placement]").forEach(function (el) {
      var p = el.getAttribute("data-decide-placement");
      (groups[p] = groups[p] || []).push(el);
    });
    return Promise.all(Object.keys(groups).map(function (p) {
      return render({ placement: p, elements: groups[p] });
    }));
  }

  window.decide = { render: render, renderAll: renderAll, sanitize: sanitize };
  if (data.auto !== "false") {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", renderAll);
    else renderAll();
  }
})();
