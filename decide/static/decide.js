/* decide.js: renders a decision into the page, reports its impression and click.
   No build step, no dependencies. On any failure the element keeps its own content. */
(() => {
  "use strict";
  const script = document.currentScript || {}, data = script.dataset || {};
  const base = data.endpoint || (script.src ? new URL(script.src).origin : location.origin);
  const DROP = /^(SCRIPT|STYLE|IFRAME|OBJECT|EMBED|LINK|META|BASE|FORM|FRAME|FRAMESET|TEMPLATE|SVG|MATH)$/;  // svg: <animate> can set an href
  const URL_ATTR = /^(href|src|action|formaction|xlink:href|poster)$/;
  const SCHEMES = ["http:", "https:", "mailto:", "tel:"];
  const uid = () => crypto.randomUUID ? crypto.randomUUID() : Date.now() + "-" + Math.random();

  const anonymousId = () => {  // kept in this browser, so a returning visitor stays one contact
    try {
      const id = localStorage.getItem("decide_anon") || "anon-" + uid();
      localStorage.setItem("decide_anon", id);
      return id;
    } catch (e) { return "anon-" + uid(); }
  };

  const safeUrl = (v) => { try { return SCHEMES.includes(new URL(v, location.href).protocol); } catch (e) { return false; } };

  // The server sanitizes already; this is defence in depth against a bad template.
  const sanitize = (markup) => {
    const t = document.createElement("template");
    t.innerHTML = markup;  // template content is inert: nothing runs or loads while we clean it
    for (const el of t.content.querySelectorAll("*")) {
      if (DROP.test(el.tagName.toUpperCase())) { el.remove(); continue; }
      for (const a of Array.from(el.attributes)) {
        const n = a.name.toLowerCase();
        if (n.startsWith("on") || n === "style" || n === "srcset" || (URL_ATTR.test(n) && !safeUrl(a.value))) el.removeAttribute(a.name);
      }
    }
    return t.content;
  };

  const post = (path, body, key, ms) => {
    const ctl = new AbortController(), timer = setTimeout(() => ctl.abort(), ms);
    const headers = { "Content-Type": "application/json" };
    if (key) headers.Authorization = "Bearer " + key;
    return fetch(base + path, { method: "POST", body: JSON.stringify(body), headers, signal: ctl.signal,
      keepalive: path === "/v1/events" })  // an impression still arrives if the visitor leaves
      .then((r) => { if (!r.ok) throw new Error("decide: " + r.status); return r.json(); })
      .finally(() => clearTimeout(timer));
  };

  // sendBeacon cannot set headers: the public key travels in the body, as text/plain.
  const beacon = (key, event) => {
    const body = JSON.stringify({ api_key: key, events: [event] });
    if (!(navigator.sendBeacon && navigator.sendBeacon(base + "/v1/events", body))) {
      fetch(base + "/v1/events", { method: "POST", body, keepalive: true }).catch(() => {});
    }
  };

  const fill = (el, d, field) => {
    const m = d.message, content = m.content[(d.channel && d.channel.primary) || "web"] || m.content.web || {};
    field = field || ("html" in content ? "html" : Object.keys(content)[0]);
    const value = content[field];
    if (typeof value !== "string") return false;
    if (field === "html" || field.endsWith("_html")) el.replaceChildren(sanitize(value));
    else el.textContent = value;
    el.dir = m.direction || "auto";
    if (m.locale) el.lang = m.locale;
    return true;
  };

  /* render({placement, element(s), field, contactId, attributes, context, contactToken, key})
     resolves with the decision, or null when the element keeps its content. Never rejects. */
  const render = (o) => {
    const key = o.key || data.key, contact = o.contactId || data.contact || anonymousId();
    const attributes = Object.assign({}, o.attributes), lang = data.locale || document.documentElement.lang;
    if (lang && !attributes.locale) attributes.locale = lang;
    const body = { placement: o.placement, contact_id: contact, attributes };
    if (o.context) body.context = o.context;
    const token = o.contactToken || data.contactToken;
    if (token) body.contact_token = token;
    return post("/v1/decide", body, key, o.timeout || Number(data.timeout) || 3000).then((d) => {
      const shown = d.message && d.decision_id ? (o.elements || [o.element])
        .filter((el) => fill(el, d, o.field || el.getAttribute("data-decide-field"))) : [];
      if (!shown.length) return null;
      const event = { type: "impression", contact_id: contact, decision_id: d.decision_id };
      post("/v1/events", { events: [{ ...event, event_id: uid() }] }, key, 10000).catch(() => {});
      let clicked = false;  // one click per decision: the reward is a yes/no
      for (const el of shown) el.addEventListener("click", () => {
        if (!clicked) beacon(key, { ...event, type: "click", event_id: uid() });
        clicked = true;
      });
      return d;
    }).catch(() => null);
  };

  const renderAll = () => {
    const groups = {};
    for (const el of document.querySelectorAll("[data-decide-placement]")) {
      (groups[el.dataset.decidePlacement] ||= []).push(el);
    }
    return Promise.all(Object.entries(groups).map(([placement, elements]) => render({ placement, elements })));
  };

  window.decide = { render, renderAll, sanitize };
  if (data.auto !== "false") {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", renderAll);
    else renderAll();
  }
})();
